"""An EnvPayload with a secretRef source becomes a correct Secret, and follows its source."""

from __future__ import annotations

from kubernetes import client

from tests.cluster.envpayloads import (
    apply_envpayload,
    secret_values,
    wait_for_ready,
    write_source,
)
from tests.cluster.operator import RunningOperator
from tests.support import wait_for

PAYLOAD = """\
# Production settings, as CI writes them from PRODUCTION_ENV_FILE
DATABASE_URL=mysql://app@db:3306/app
DATABASE_PASSWORD="correct horse
battery staple"
export API_KEY='k-123'
"""


def test_a_secret_ref_payload_becomes_a_secret(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    write_source(core, namespace, "app-env", PAYLOAD)

    apply_envpayload(custom, namespace, "app", {"source": {"secretRef": {"name": "app-env"}}})

    obj = wait_for_ready(custom, namespace, "app")
    assert secret_values(core, namespace, "app") == {
        "DATABASE_URL": "mysql://app@db:3306/app",
        "DATABASE_PASSWORD": "correct horse\nbattery staple",
        "API_KEY": "k-123",
    }
    assert obj["status"]["keys"] == ["DATABASE_URL", "DATABASE_PASSWORD", "API_KEY"]
    assert obj["status"]["sourceKind"] == "secretRef"


def test_a_change_of_the_source_reaches_the_secret_within_seconds(
    operator: RunningOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    write_source(core, namespace, "app-env", "API_KEY=old\n")
    apply_envpayload(
        custom,
        namespace,
        "app",
        {"source": {"secretRef": {"name": "app-env"}}, "refreshInterval": "1h"},
    )
    wait_for_ready(custom, namespace, "app")

    write_source(core, namespace, "app-env", "API_KEY=new\n")

    wait_for(
        lambda: secret_values(core, namespace, "app") == {"API_KEY": "new"},
        timeout=5,
        what="the new value",
    )
