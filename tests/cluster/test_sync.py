"""An EnvPayload becomes a correct Secret every time, or nothing changes and it says why."""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client

from envpayload.spec import GROUP, PLURAL, VERSION
from localplane.operator import RunningOperator
from tests.cluster.envpayloads import (
    apply_envpayload,
    events_for,
    get_envpayload,
    operator_writes,
    ready_condition,
    secret_values,
    settle,
    wait_for_ready,
    write_source,
)
from tests.support import wait_for

PAYLOAD = """\
# Production settings, as CI writes them from PRODUCTION_ENV_FILE
DATABASE_URL=mysql://app@db:3306/app
DATABASE_PASSWORD="correct horse
battery staple"
export API_KEY='k-123'
"""

SOURCE = {"secretRef": {"name": "app-env"}}


def secret_version(core: client.CoreV1Api, namespace: str, name: str) -> str:
    secret: Any = core.read_namespaced_secret(name, namespace)
    return str(secret.metadata.resource_version)


def start_synced(
    core: client.CoreV1Api, custom: client.CustomObjectsApi, namespace: str, text: str, **spec: Any
) -> dict[str, Any]:
    write_source(core, namespace, "app-env", text)
    apply_envpayload(custom, namespace, "app", {"source": SOURCE, **spec})
    return wait_for_ready(custom, namespace, "app")


def test_a_secret_ref_payload_becomes_a_secret(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    obj = start_synced(core, custom, namespace, PAYLOAD)

    assert secret_values(core, namespace, "app") == {
        "DATABASE_URL": "mysql://app@db:3306/app",
        "DATABASE_PASSWORD": "correct horse\nbattery staple",
        "API_KEY": "k-123",
    }
    status = obj["status"]
    assert status["keys"] == ["DATABASE_URL", "DATABASE_PASSWORD", "API_KEY"]
    assert (status["sourceKind"], status["secretName"], status["keyCount"]) == (
        "secretRef",
        "app",
        3,
    )
    assert status["sourceVersion"].startswith("rv:")
    reasons = [e.reason for e in events_for(core, namespace, "app")]
    assert "Synced" in reasons


def test_a_change_of_the_source_reaches_the_secret_within_seconds(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    first = start_synced(core, custom, namespace, "API_KEY=old\n", refreshInterval="1h")
    time.sleep(1.1)  # status times have a resolution of one second

    write_source(core, namespace, "app-env", "API_KEY=new\n")

    wait_for(
        lambda: secret_values(core, namespace, "app") == {"API_KEY": "new"},
        timeout=5,
        what="the new value",
    )

    # The change time moves with the content and stays moved (status is never rebuilt
    # from a stale copy of itself).
    def change_time() -> str:
        return str(get_envpayload(custom, namespace, "app")["status"]["lastChangeTime"])

    wait_for(lambda: change_time() != first["status"]["lastChangeTime"], timeout=5)
    changed = change_time()
    settle(2)
    assert change_time() == changed


def test_a_key_removed_from_the_payload_leaves_the_secret(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, "KEEP=1\nDROP=2\n")

    write_source(core, namespace, "app-env", "KEEP=1\n")

    wait_for(
        lambda: secret_values(core, namespace, "app") == {"KEEP": "1"},
        timeout=10,
        what="DROP to go",
    )
    wait_for(
        lambda: get_envpayload(custom, namespace, "app")["status"]["keys"] == ["KEEP"], timeout=10
    )


def test_a_hand_edited_or_deleted_target_secret_is_put_right_within_seconds(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    # An hour between refreshes: only the watch of the target Secret can bring it back.
    start_synced(core, custom, namespace, "API_KEY=k-123\n", refreshInterval="1h")
    wanted = {"API_KEY": "k-123"}

    core.patch_namespaced_secret(
        "app", namespace, {"stringData": {"API_KEY": "edited", "EXTRA": "added"}}
    )
    wait_for(lambda: secret_values(core, namespace, "app") == wanted, timeout=10, what="repair")

    core.delete_namespaced_secret("app", namespace)
    wait_for(
        lambda: secret_values(core, namespace, "app") == wanted, timeout=10, what="re-creation"
    )


def test_the_file_key_stores_the_payload_verbatim(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, PAYLOAD, target={"fileKey": ".env"})

    values = secret_values(core, namespace, "app")
    assert values is not None
    assert values[".env"] == PAYLOAD
    assert values["API_KEY"] == "k-123"


def test_deleting_with_the_delete_policy_removes_the_secret(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, "A=1\n")

    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "app")

    wait_for(
        lambda: secret_values(core, namespace, "app") is None,
        timeout=30,
        what="the Secret to be collected",
    )


def test_deleting_with_the_retain_policy_keeps_the_secret_without_an_owner(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, "A=1\n", target={"deletionPolicy": "Retain"})

    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "app")

    def gone() -> bool:
        listed: Any = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
        return not listed["items"]

    wait_for(gone, timeout=30, what="the EnvPayload to be deleted")
    settle(3)

    secret: Any = core.read_namespaced_secret("app", namespace)
    assert secret.metadata.owner_references is None
    assert secret_values(core, namespace, "app") == {"A": "1"}


def test_switching_to_retain_drops_the_owner_reference(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, "A=1\n")

    apply_envpayload(
        custom, namespace, "app", {"source": SOURCE, "target": {"deletionPolicy": "Retain"}}
    )

    def unowned() -> bool:
        secret: Any = core.read_namespaced_secret("app", namespace)
        return not secret.metadata.owner_references

    wait_for(unowned, timeout=10, what="the owner reference to go")


def test_an_unmanaged_secret_is_left_alone_and_reported_as_a_conflict(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    write_source(core, namespace, "app", "SOMEONE_ELSES=1\n", key="theirs")
    before = secret_version(core, namespace, "app")

    start = {"source": SOURCE}
    write_source(core, namespace, "app-env", "A=1\n")
    apply_envpayload(custom, namespace, "app", start)

    obj = wait_for_ready(custom, namespace, "app", status="False", reason="Conflict")
    assert "spec.target.adopt" in ready_condition(obj)["message"]
    assert secret_version(core, namespace, "app") == before
    wait_for(
        lambda: "Conflict" in [e.reason for e in events_for(core, namespace, "app")], timeout=10
    )


def test_adopt_takes_over_an_unmanaged_secret_with_exactly_the_payloads_keys(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    write_source(core, namespace, "app", "stale", key="LEFTOVER")

    start_synced(core, custom, namespace, "A=1\n", target={"adopt": True})

    wait_for(
        lambda: secret_values(core, namespace, "app") == {"A": "1"},
        timeout=10,
        what="only the payload's keys",
    )


def test_a_secret_another_envpayload_writes_is_not_taken_over_even_with_adopt(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, "A=1\n")
    written = secret_version(core, namespace, "app")

    # A copied manifest whose target name was not changed.
    write_source(core, namespace, "copy-env", "A=2\n")
    copy = {"source": {"secretRef": {"name": "copy-env"}}, "target": {"name": "app", "adopt": True}}
    apply_envpayload(custom, namespace, "copy", copy)

    obj = wait_for_ready(custom, namespace, "copy", status="False", reason="Conflict")
    assert "written by EnvPayload app" in ready_condition(obj)["message"]
    settle(3)  # no tug of war: neither EnvPayload writes the Secret again
    assert secret_values(core, namespace, "app") == {"A": "1"}
    assert secret_version(core, namespace, "app") == written
    assert ready_condition(get_envpayload(custom, namespace, "app"))["status"] == "True"


def test_a_malformed_payload_keeps_the_last_good_secret_and_names_the_line(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, "A=1\nB=2\n")
    before = secret_version(core, namespace, "app")

    write_source(core, namespace, "app-env", "A=1\nB=2\nthis line is broken\n")

    obj = wait_for_ready(custom, namespace, "app", status="False", reason="InvalidPayload")
    assert ready_condition(obj)["message"] == "line 3: the statement does not parse"
    assert secret_version(core, namespace, "app") == before
    assert obj["status"]["keys"] == ["A", "B"]
    wait_for(
        lambda: "InvalidPayload" in [e.reason for e in events_for(core, namespace, "app")],
        timeout=10,
    )


def test_a_missing_required_key_keeps_the_last_good_secret_and_names_the_key(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(
        core, custom, namespace, "DB_PASSWORD=1\nA=1\n", validation={"required": ["DB_PASSWORD"]}
    )
    before = secret_version(core, namespace, "app")

    write_source(core, namespace, "app-env", "A=2\n")

    obj = wait_for_ready(custom, namespace, "app", status="False", reason="ValidationFailed")
    assert ready_condition(obj)["message"] == "required keys are missing: DB_PASSWORD"
    assert secret_version(core, namespace, "app") == before
    assert secret_values(core, namespace, "app") == {"DB_PASSWORD": "1", "A": "1"}


def test_fixing_the_source_recovers(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, "A=1\n")
    write_source(core, namespace, "app-env", "A=1\nbroken\n")
    wait_for_ready(custom, namespace, "app", status="False", reason="InvalidPayload")

    write_source(core, namespace, "app-env", "A=2\n")

    wait_for_ready(custom, namespace, "app", reason="Synced")
    assert secret_values(core, namespace, "app") == {"A": "2"}
    wait_for(
        lambda: "Recovered" in [e.reason for e in events_for(core, namespace, "app")], timeout=10
    )


def test_a_missing_source_is_reported_and_picked_up_when_it_appears(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    apply_envpayload(custom, namespace, "app", {"source": SOURCE, "refreshInterval": "1h"})
    obj = wait_for_ready(custom, namespace, "app", status="False", reason="SourceNotFound")
    assert "Secret app-env" in ready_condition(obj)["message"]

    write_source(core, namespace, "app-env", "A=1\n")

    wait_for_ready(custom, namespace, "app", timeout=10)


def test_a_source_key_that_is_not_there_is_reported_with_the_keys_that_are(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    # `kubectl create secret generic app-env --from-file=.env.production` names the key
    # after the file, not ".env".
    write_source(core, namespace, "app-env", "A=1\n", key=".env.production")
    apply_envpayload(custom, namespace, "app", {"source": SOURCE})

    obj = wait_for_ready(custom, namespace, "app", status="False", reason="SourceNotFound")
    assert ready_condition(obj)["message"] == (
        "Secret app-env key .env: no such key; the Secret has .env.production "
        "(set spec.source.secretRef.key)"
    )


def test_a_source_in_another_namespace_is_refused(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    write_source(core, "default", "other-team-env", "STOLEN=1\n")
    try:
        apply_envpayload(
            custom,
            namespace,
            "app",
            {"source": {"secretRef": {"name": "other-team-env", "namespace": "default"}}},
        )

        obj = wait_for_ready(custom, namespace, "app", status="False", reason="SourceForbidden")
        assert "only read Secrets in its own namespace" in ready_condition(obj)["message"]
        assert secret_values(core, namespace, "app") is None
    finally:
        core.delete_namespaced_secret("other-team-env", "default")


def test_a_refresh_of_unchanged_content_writes_nothing(
    plane: Any,
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start_synced(core, custom, namespace, PAYLOAD, refreshInterval="10s")
    settle(2)  # let the writes of the first sync (status, Event) land
    quiet_from = time.time()

    settle(25)  # two refreshes or more

    assert operator_writes(plane, namespace, after=quiet_from) == []
    assert "Sync took" in operator.logs()  # the refreshes did run
