"""The kustomize base on a real control plane: `kubectl apply -k manifests/` as users run it.

The base creates its own namespace, envpayload-system, enforcing PodSecurity
`restricted`; the operator's pod must be admitted there. Then the operator runs as a
local process with a token of the base's ServiceAccount and passes the sync and rollout
scenarios with exactly the base's permissions. Afterwards everything the base created goes
again, except the CRD, which the rest of the session still uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.binaries import REPO, parse_objects, program, run
from tests.cluster.installs import service_account_kubeconfig
from tests.cluster.scenarios import permission_denials, rollout_scenario, sync_scenario
from tests.support import wait_for, wait_for_rollout

NAMESPACE = "envpayload-system"
ACCOUNT = "envpayload-operator"


def _kubectl(plane: ControlPlane, *args: str | Path, input: str | None = None) -> str:
    argv = [program("kubectl"), *args]
    return run(argv, input=input, env={"KUBECONFIG": str(plane.kubeconfig)}).stdout


@pytest.fixture
def applied_base(plane: ControlPlane, core: client.CoreV1Api, crd: str) -> Iterator[None]:
    """``kubectl apply -k manifests/``; afterwards what it created goes, except the CRD.

    The namespace goes too, unless it was there before (`make demo` uses it as well).
    """
    wait_for(lambda: _phase(core) != "Terminating", timeout=60, what=f"{NAMESPACE} to go")
    existed = _phase(core) is not None
    _kubectl(plane, "apply", "-k", REPO / "manifests")
    yield
    rendered = parse_objects(_kubectl(plane, "kustomize", REPO / "manifests"))
    ours = [
        o
        for o in rendered
        if o["kind"] != "CustomResourceDefinition" and not (existed and o["kind"] == "Namespace")
    ]
    _kubectl(plane, "delete", "--ignore-not-found", "--wait=false", "-f", "-", input=_dump(ours))
    if not existed:
        wait_for(lambda: _phase(core) is None, timeout=60, what=f"{NAMESPACE} to go")


def _dump(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects)


def _phase(core: client.CoreV1Api) -> str | None:
    """The operator namespace's phase, or None when there is none."""
    try:
        namespace: Any = core.read_namespace(NAMESPACE)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    return str(namespace.status.phase)


def test_the_base_installs_and_the_operator_works_with_its_permissions(
    applied_base: None,
    plane: ControlPlane,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Path,
) -> None:
    deployment = wait_for_rollout(apps, "Deployment", "envpayload-operator", NAMESPACE)
    assert deployment.status.available_replicas == 1
    home: Any = core.read_namespace(NAMESPACE)
    assert home.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"

    kubeconfig = service_account_kubeconfig(
        plane, core, NAMESPACE, ACCOUNT, tmp_path / "sa.kubeconfig"
    )
    operator = RunningOperator(
        plane,
        None,
        tmp_path / "operator.log",
        operator_namespace=NAMESPACE,
        kubeconfig=kubeconfig,
    )
    operator.start(timeout=60)  # Python starts slowly on a busy machine
    try:
        sync_scenario(core, custom, namespace)
        rollout_scenario(core, apps, custom, namespace)
    except BaseException:
        print(f"--- operator log ---\n{operator.logs()}")
        raise
    finally:
        operator.stop()

    assert permission_denials(operator.logs()) == []
