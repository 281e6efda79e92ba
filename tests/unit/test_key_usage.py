"""Which keys the cluster's EnvPayloads use, read from their status and inline headers."""

from __future__ import annotations

import datetime
from typing import Any

from envpayload.keyusage import usage_of
from envpayload.sealing.envelope import MAX_PLAINTEXT, MAX_SERIAL, seal
from envpayload.sealing.keys import SealingKey

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def envpayload(
    name: str,
    *,
    key_id: str | None = None,
    sealed: str | None = None,
    ready: str = "True",
    generation: int = 1,
    observed: int = 1,
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": "prod", "name": name, "generation": generation}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status: dict[str, Any] = {
        "observedGeneration": observed,
        "conditions": [{"type": "Ready", "status": ready}],
    }
    if key_id:
        status["sealingKeyId"] = key_id
    source = {"inline": {"sealed": sealed}} if sealed else {"secretRef": {"name": "src"}}
    return {"metadata": meta, "spec": {"source": source}, "status": status}


def test_keys_named_in_status_and_in_inline_headers_are_in_use() -> None:
    inline_key = SealingKey.generate(T0)
    envelope = seal(b"A=1\n", inline_key.public, scope="namespace", serial=1, namespace="prod")

    usage = usage_of(
        [
            envpayload("a", key_id="00000000000000aa"),
            envpayload("b", key_id="00000000000000aa"),
            envpayload("c", sealed=envelope),
        ]
    )

    assert usage.complete
    assert usage.users["00000000000000aa"] == {"prod/a", "prod/b"}
    assert usage.users[inline_key.id] == {"prod/c"}
    assert not usage.in_use("00000000000000bb")


def test_an_envpayload_not_ready_at_its_generation_makes_the_scan_incomplete() -> None:
    usage = usage_of(
        [
            envpayload("failing", ready="False"),
            envpayload("edited", generation=2, observed=1),
            envpayload("fine"),
        ]
    )

    assert not usage.complete
    assert usage.unsettled == ("prod/edited", "prod/failing")


def test_an_envpayload_being_deleted_counts_as_a_user_but_does_not_block_deletion() -> None:
    usage = usage_of(
        [envpayload("leaving", key_id="00000000000000aa", ready="False", deleting=True)]
    )

    assert usage.complete
    assert usage.in_use("00000000000000aa")


def test_a_malformed_inline_envelope_names_no_key() -> None:
    usage = usage_of([envpayload("broken", sealed="esv1.not-an-envelope")])

    assert usage.complete
    assert dict(usage.users) == {}


def test_the_largest_envelope_names_its_key() -> None:
    # The scan reads only the start of an envelope; the header must be all there.
    key = SealingKey.generate(T0)
    largest = b"A=" + b"x" * (MAX_PLAINTEXT - 2)
    envelope = seal(
        largest, key.public, scope="strict", serial=MAX_SERIAL, namespace="prod", name="a"
    )

    usage = usage_of([envpayload("a", sealed=envelope)])

    assert usage.users == {key.id: frozenset({"prod/a"})}
