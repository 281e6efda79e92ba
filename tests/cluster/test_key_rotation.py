"""The operator rotates its sealing key on schedule and deletes retired keys nothing uses.

The rotation period here is about nine seconds and the retention under one, so a few
rotations happen within one test; the rules are the same as with the 30 and 90 days of
the defaults.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from envpayload.keyring import KeyringStore
from localplane.operator import RunningOperator
from tests.cluster.envpayloads import apply_envpayload, secret_values, wait_for_ready
from tests.cluster.sealing import published, sealed_with_cluster_key
from tests.support import wait_for

ROTATION_DAYS = 0.0001  # 8.64 seconds
RETENTION_DAYS = 0.00001  # 0.86 seconds


@pytest.fixture
def operator_env() -> dict[str, str]:
    return {
        "ENVPAYLOAD_SEALING_KEY_ROTATION_DAYS": str(ROTATION_DAYS),
        "ENVPAYLOAD_SEALING_KEY_RETENTION_DAYS": str(RETENTION_DAYS),
    }


def test_keys_rotate_on_schedule_and_only_unused_retired_keys_are_deleted(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    envelope = sealed_with_cluster_key(core, namespace, "A=1\n", namespace=namespace, name="app")
    apply_envpayload(custom, namespace, "app", {"source": {"inline": {"sealed": envelope}}})
    used_key = wait_for_ready(custom, namespace, "app")["status"]["sealingKeyId"]

    seen: set[str] = set()

    def a_later_key_came_and_went() -> bool:
        listed = {key.id for key in published(core, namespace)}
        seen.update(listed)
        return used_key in listed and bool(seen - listed - {used_key})

    # Rotations keep coming; a key retired after the one in use, used by nothing, goes.
    wait_for(a_later_key_came_and_went, timeout=90, interval=0.5, what="an unused key deleted")

    stored = KeyringStore(core, namespace).sealing_keys()
    assert stored.find(used_key) is not None
    assert stored.active is not None
    assert stored.active.id != used_key
    assert secret_values(core, namespace, "app") == {"A": "1"}

    def published_matches_stored() -> bool:
        stored_ids = {key.id for key in KeyringStore(core, namespace).sealing_keys().keys}
        return stored_ids == {key.id for key in published(core, namespace)}

    # A rotation may fall between the two reads; the next look agrees.
    wait_for(published_matches_stored, timeout=20, what="the published keys to match the keyring")
