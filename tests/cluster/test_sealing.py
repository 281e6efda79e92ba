"""Sealed payloads on a real control plane: seal with the CLI, the operator opens, and refuses."""

from __future__ import annotations

import datetime
import json

from kubernetes import client

from envpayload.keyring import FINGERPRINT_KEY, KeyringStore
from envpayload.publickeys import PUBLIC_KEYS_CONFIGMAP
from envpayload.sealing.envelope import seal
from envpayload.sealing.keys import Keyset, PublicKey, SealingKey
from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.cluster.envpayloads import (
    apply_envpayload,
    condition,
    events_for,
    get_envpayload,
    secret_values,
    settle,
    wait_for_ready,
    write_source,
)
from tests.cluster.sealing import (
    apply_manifest,
    envpayload_cli,
    published,
    sealed_with_cluster_key,
)
from tests.support import wait_for

CANARY = "canary-9TqW-sealed-value-never-shown"
PAYLOAD = f"DATABASE_URL=mysql://app@db/app\nDATABASE_PASSWORD={CANARY}\n"
VALUES = {"DATABASE_URL": "mysql://app@db/app", "DATABASE_PASSWORD": CANARY}


def inline(envelope: str, **spec: object) -> dict[str, object]:
    return {"source": {"inline": {"sealed": envelope}}, **spec}


def test_the_operator_creates_its_keyring_and_publishes_the_public_key_at_start(
    operator: RunningOperator, plane: ControlPlane, core: client.CoreV1Api, namespace: str
) -> None:
    entries = KeyringStore(core, namespace).read()
    assert entries is not None
    keyset = Keyset.from_entries(entries)
    assert FINGERPRINT_KEY in entries
    assert len(keyset.keys) == 1

    keys = published(core, namespace)
    assert [(k.id, k.retired) for k in keys] == [(keyset.keys[0].id, None)]
    config_map = core.read_namespaced_config_map(PUBLIC_KEYS_CONFIGMAP, namespace)
    assert "PRIVATE" not in json.dumps(config_map.data)

    cert = envpayload_cli(plane, namespace, "keys", "cert")
    assert cert.returncode == 0, cert.stderr
    assert PublicKey.from_pem(cert.stdout.encode()).id == keyset.keys[0].id


def test_a_payload_sealed_by_the_cli_with_the_clusters_key_becomes_a_secret_also_after_rotation(
    operator: RunningOperator,
    plane: ControlPlane,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    seal_app = ("seal", "--namespace", namespace, "--name", "app")
    sealed = envpayload_cli(plane, namespace, *seal_app, "--format", "manifest", stdin=PAYLOAD)
    assert sealed.returncode == 0, sealed.stderr
    apply_manifest(custom, sealed.stdout)

    obj = wait_for_ready(custom, namespace, "app")
    first_key = published(core, namespace)[0].id
    assert secret_values(core, namespace, "app") == VALUES
    assert obj["status"]["sealingKeyId"] == first_key
    assert condition(obj, "SealingKeyRetired")["status"] == "False"

    rotated = envpayload_cli(plane, namespace, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    second_key = published(core, namespace)[0].id
    assert second_key != first_key
    assert second_key in rotated.stdout

    resealed = envpayload_cli(plane, namespace, *seal_app, stdin=PAYLOAD + "API_KEY=k-2\n")
    assert resealed.returncode == 0, resealed.stderr
    apply_envpayload(custom, namespace, "app", inline(resealed.stdout.strip()))

    # The operator was not restarted: it found the new key by reloading its keyring.
    obj = wait_for_ready(custom, namespace, "app")
    assert secret_values(core, namespace, "app") == {**VALUES, "API_KEY": "k-2"}
    assert obj["status"]["sealingKeyId"] == second_key


def test_an_envelope_sealed_before_a_rotation_keeps_opening_and_asks_to_be_sealed_again(
    operator: RunningOperator,
    plane: ControlPlane,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    old = sealed_with_cluster_key(core, namespace, PAYLOAD, namespace=namespace, name="legacy")
    apply_envpayload(custom, namespace, "legacy", inline(old, refreshInterval="10s"))
    wait_for_ready(custom, namespace, "legacy")

    assert envpayload_cli(plane, namespace, "keys", "rotate").returncode == 0
    new = sealed_with_cluster_key(core, namespace, "A=1\n", namespace=namespace, name="fresh")
    apply_envpayload(custom, namespace, "fresh", inline(new))
    wait_for_ready(custom, namespace, "fresh")

    def retired_condition() -> dict[str, object] | None:
        found = condition(get_envpayload(custom, namespace, "legacy"), "SealingKeyRetired")
        return found if found.get("status") == "True" else None

    found = wait_for(retired_condition, timeout=30, what="SealingKeyRetired on legacy")
    assert found["reason"] == "SealedWithRetiredKey"
    obj = wait_for_ready(custom, namespace, "legacy")
    assert obj["status"]["sealingKeyId"] == published(core, namespace)[1].id
    assert secret_values(core, namespace, "legacy") == VALUES
    reasons = [e.reason for e in events_for(core, namespace, "legacy")]
    assert "SealingKeyRetired" in reasons

    listed = envpayload_cli(plane, namespace, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert "retired" in listed.stdout
    assert "active" in listed.stdout


def test_a_sealed_envelope_in_a_source_secret_is_opened(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    envelope = sealed_with_cluster_key(core, namespace, PAYLOAD, namespace=namespace, name="app")
    write_source(core, namespace, "app-env", envelope + "\n")

    apply_envpayload(custom, namespace, "app", {"source": {"secretRef": {"name": "app-env"}}})

    obj = wait_for_ready(custom, namespace, "app")
    assert secret_values(core, namespace, "app") == VALUES
    assert obj["status"]["sealingKeyId"] == published(core, namespace)[0].id


def test_an_older_serial_is_refused_as_a_replay_unless_rollback_is_allowed(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    def sealed(text: str, serial: int) -> str:
        return sealed_with_cluster_key(
            core, namespace, text, namespace=namespace, name="app", serial=serial
        )

    apply_envpayload(custom, namespace, "app", inline(sealed("API_KEY=new\n", 200)))
    obj = wait_for_ready(custom, namespace, "app")
    assert obj["status"]["sealedSerial"] == 200

    apply_envpayload(custom, namespace, "app", inline(sealed("API_KEY=old\n", 100)))

    obj = wait_for_ready(custom, namespace, "app", status="False", reason="EnvelopeReplayed")
    message = condition(obj, "Ready")["message"]
    assert "serial 100" in message
    assert "serial 200" in message
    assert secret_values(core, namespace, "app") == {"API_KEY": "new"}
    assert obj["status"]["sealedSerial"] == 200

    apply_envpayload(
        custom,
        namespace,
        "app",
        inline(sealed("API_KEY=old\n", 100), sealing={"allowRollback": True}),
    )

    obj = wait_for_ready(custom, namespace, "app")
    assert secret_values(core, namespace, "app") == {"API_KEY": "old"}
    assert obj["status"]["sealedSerial"] == 100


def test_an_envelope_moved_to_another_name_opens_only_where_its_scope_allows(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    strict = sealed_with_cluster_key(core, namespace, PAYLOAD, namespace=namespace, name="app")
    wide = sealed_with_cluster_key(core, namespace, PAYLOAD, namespace=namespace, scope="namespace")

    apply_envpayload(custom, namespace, "copy", inline(strict))
    apply_envpayload(custom, namespace, "shared", inline(wide))

    obj = wait_for_ready(custom, namespace, "copy", status="False", reason="EnvelopeRejected")
    assert "could not be opened" in condition(obj, "Ready")["message"]
    assert secret_values(core, namespace, "copy") is None
    wait_for_ready(custom, namespace, "shared")
    assert secret_values(core, namespace, "shared") == VALUES


def test_an_envelope_for_a_key_the_operator_does_not_hold_names_the_key(
    operator: RunningOperator,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    stranger = SealingKey.generate(datetime.datetime.now(datetime.UTC))
    envelope = seal(
        PAYLOAD.encode(), stranger.public, scope="strict", serial=1, namespace=namespace, name="app"
    )

    apply_envpayload(custom, namespace, "app", inline(envelope))

    obj = wait_for_ready(custom, namespace, "app", status="False", reason="UnknownSealingKey")
    assert stranger.id in condition(obj, "Ready")["message"]


def test_no_plaintext_reaches_the_log_events_status_or_annotations(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    def sealed(text: str, name: str, serial: int = 5) -> str:
        return sealed_with_cluster_key(
            core, namespace, text, namespace=namespace, name=name, serial=serial
        )

    # A payload that opens, one that opens but does not parse, one sealed for another name,
    # and a replay: every path the plaintext can take through the operator.
    apply_envpayload(custom, namespace, "good", inline(sealed(PAYLOAD, "good")))
    apply_envpayload(
        custom, namespace, "broken", inline(sealed(f"OK=1\n{CANARY}\nOK=2\n", "broken"))
    )
    apply_envpayload(custom, namespace, "moved", inline(sealed(PAYLOAD, "elsewhere")))
    wait_for_ready(custom, namespace, "good")
    wait_for_ready(custom, namespace, "broken", status="False", reason="InvalidPayload")
    wait_for_ready(custom, namespace, "moved", status="False", reason="EnvelopeRejected")
    apply_envpayload(custom, namespace, "good", inline(sealed(PAYLOAD, "good", serial=1)))
    wait_for_ready(custom, namespace, "good", status="False", reason="EnvelopeReplayed")
    assert secret_values(core, namespace, "good") == VALUES  # the canary is really in play

    assert CANARY not in operator.logs()
    for name in ("good", "broken", "moved"):
        obj = get_envpayload(custom, namespace, name)
        assert CANARY not in json.dumps(obj.get("status"))
        assert CANARY not in json.dumps(obj["metadata"].get("annotations") or {})
        for event in events_for(core, namespace, name):
            assert CANARY not in f"{event.reason} {event.message}"


def test_a_large_inline_payload_becomes_a_secret(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    # 900 KiB of values: an envelope of about 1.2 million characters in the EnvPayload,
    # far over the 256 KiB that annotations may hold, so nothing may copy it there.
    values = {f"BLOB_{n}": "x" * (90 * 1024) for n in range(10)}
    text = "".join(f"{k}={v}\n" for k, v in values.items())
    envelope = sealed_with_cluster_key(core, namespace, text, namespace=namespace, name="big")

    apply_envpayload(custom, namespace, "big", inline(envelope))

    obj = wait_for_ready(custom, namespace, "big", timeout=60)
    assert obj["status"]["keyCount"] == 10
    assert secret_values(core, namespace, "big") == values

    # Nothing copied the envelope into an annotation (they may hold 256 KiB): Kopf would
    # fail on every attempt and throttle the object.
    settle(2)
    annotations = get_envpayload(custom, namespace, "big")["metadata"].get("annotations")
    assert envelope not in json.dumps(annotations or {})
    assert "Too long" not in operator.logs()
