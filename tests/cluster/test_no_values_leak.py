"""A planted canary value never appears outside the Secret it belongs in.

The payload goes through every path the operator has: a first sync, an update, a line
that does not parse (with the canary where a key would be), a failed validation and a
recovery. Then everything the operator wrote or said is searched: its log at DEBUG level,
the Events, the EnvPayload (status, annotations, everything) and the target Secret's
metadata.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client

from localplane.operator import RunningOperator
from tests.cluster.envpayloads import (
    apply_envpayload,
    get_envpayload,
    secret_values,
    wait_for_ready,
    write_source,
)
from tests.support import plain

CANARY = "canary-5be8c1f09d"


def test_a_canary_value_never_leaves_the_secret(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    spec = {
        "source": {"secretRef": {"name": "app-env"}},
        "validation": {"required": ["DB_PASSWORD"]},
    }

    # A good payload, then a change, then three kinds of failure, then a recovery.
    write_source(core, namespace, "app-env", f"DB_PASSWORD={CANARY}\nA=1\n")
    apply_envpayload(custom, namespace, "app", spec)
    wait_for_ready(custom, namespace, "app")
    write_source(core, namespace, "app-env", f'DB_PASSWORD="{CANARY}\nsecond line"\nA=2\n')
    wait_for_ready(custom, namespace, "app")
    write_source(core, namespace, "app-env", f"DB_PASSWORD=x\n{CANARY}\n")
    wait_for_ready(custom, namespace, "app", status="False", reason="InvalidPayload")
    write_source(core, namespace, "app-env", f"DB_PASSWORD=x\nexport {CANARY} y=z\n")
    wait_for_ready(custom, namespace, "app", status="False", reason="InvalidPayload")
    write_source(core, namespace, "app-env", f"OTHER={CANARY}\n")
    wait_for_ready(custom, namespace, "app", status="False", reason="ValidationFailed")
    write_source(core, namespace, "app-env", f"DB_PASSWORD={CANARY}\n")
    wait_for_ready(custom, namespace, "app")

    # The value did reach the Secret (so the test would notice a broken pipeline) ...
    assert secret_values(core, namespace, "app") == {"DB_PASSWORD": CANARY}
    target: Any = core.read_namespaced_secret("app", namespace)

    # ... and nowhere else.
    events = core.list_namespaced_event(namespace).items
    places = {
        "operator log": operator.logs(),
        "events": json.dumps(plain(events)),
        "envpayload": json.dumps(get_envpayload(custom, namespace, "app")),
        "secret metadata": json.dumps(plain(target.metadata)),
    }
    assert "DEBUG" in places["operator log"]
    for place, text in places.items():
        assert CANARY not in text, f"the canary value leaked into the {place}"
