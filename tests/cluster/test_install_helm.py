"""The Helm chart on a real control plane: accepted, admitted, and sufficient.

- ``helm template`` output passes the apiserver's server-side dry run;
- ``helm install`` succeeds in a namespace that enforces PodSecurity `restricted`, and
  the operator's pod is admitted and becomes available (on the fake node: this proves
  scheduling and admission, not the operator, since no image runs there);
- the operator, run as a local process with a token of the chart's ServiceAccount, passes
  the sync and rollout scenarios with exactly the chart's permissions, in both RBAC
  modes, and a hot standby takes over through Kopf peering.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.binaries import CHART, program, run
from tests.cluster.envpayloads import (
    apply_envpayload,
    secret_values,
    wait_for_ready,
    write_source,
)
from tests.cluster.installs import (
    Helm,
    create_namespace,
    fullname,
    restrict,
    service_account_kubeconfig,
)
from tests.cluster.scenarios import permission_denials, rollout_scenario, sync_scenario
from tests.support import wait_for, wait_for_rollout

StartOperator = Callable[..., RunningOperator]
WARN_RESTRICTED = {
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}


@pytest.fixture
def helm(plane: ControlPlane, tmp_path: Path) -> Helm:
    return Helm(plane, tmp_path / "helm")


@pytest.fixture
def release(helm: Helm, core: client.CoreV1Api, namespace: str, crd: str) -> Iterator[str]:
    """A release name in the test's namespace, which enforces `restricted`; uninstalled after."""
    restrict(core, namespace)
    name = f"envp-{secrets.token_hex(3)}"
    yield name
    helm.uninstall(name, namespace)


@pytest.fixture
def app_namespace(core: client.CoreV1Api) -> Iterator[str]:
    """A second namespace, for the application whose payload the operator serves."""
    name = create_namespace(core, "app")
    yield name
    core.delete_namespace(name)


@pytest.fixture
def start_operator(
    plane: ControlPlane,
    core: client.CoreV1Api,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[StartOperator]:
    """Starts ``envpayload run`` as the chart's ServiceAccount; stops every one after."""
    started: list[RunningOperator] = []

    def start(release: str, serving: list[str] | None, *args: str) -> RunningOperator:
        kubeconfig = service_account_kubeconfig(
            plane, core, namespace, fullname(release), tmp_path / f"sa-{len(started)}.kubeconfig"
        )
        operator = RunningOperator(
            plane,
            serving,
            tmp_path / f"operator-{len(started)}.log",
            operator_namespace=namespace,
            kubeconfig=kubeconfig,
            args=args,
        )
        started.append(operator)
        operator.start(timeout=60)  # Python starts slowly on a busy machine
        return operator

    yield start
    for operator in started:
        operator.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for number, operator in enumerate(started):
            print(f"--- operator {number} log ---\n{operator.logs()}")


def _can(
    api_client: client.ApiClient,
    account: str,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
) -> bool:
    """Whether ServiceAccount ``account`` (``namespace:name``) may do this, per the apiserver."""
    home = account.split(":")[0]
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{account}",
            groups=["system:serviceaccounts", f"system:serviceaccounts:{home}"],
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource=resource, namespace=namespace, name=name
            ),
        )
    )
    result: Any = client.AuthorizationV1Api(api_client).create_subject_access_review(review)
    return bool(result.status.allowed)


@pytest.mark.parametrize(
    "settings",
    [
        [],
        ["standby.enabled=true", "alerts.webhookSecret.name=ops-alerts", "verbose=true"],
        ["watch.namespaces={NAMESPACE}", "standby.enabled=true"],
    ],
    ids=["defaults", "cluster-wide-with-standby", "listed-namespaces-with-standby"],
)
def test_the_rendered_chart_passes_a_server_side_dry_run(
    helm: Helm,
    plane: ControlPlane,
    core: client.CoreV1Api,
    namespace: str,
    crd: str,
    settings: list[str],
) -> None:
    # PodSecurity warns, even in a dry run, about a pod template it would not admit.
    core.patch_namespace(namespace, {"metadata": {"labels": WARN_RESTRICTED}})
    argv: list[str | Path] = ["template", "dry-run", CHART, "-n", namespace]
    for setting in settings:
        argv += ["--set", setting.replace("NAMESPACE", namespace)]
    manifest = helm(*argv).stdout

    dry_run: list[str | Path] = [program("kubectl"), "apply", "--server-side", "--dry-run=server"]
    result = run(
        [*dry_run, "--force-conflicts", "-f", "-"],
        input=manifest,
        env={"KUBECONFIG": str(plane.kubeconfig)},
    )

    assert "serverside-applied (server dry run)" in result.stdout
    assert "PodSecurity" not in result.stderr


def test_the_chart_installs_into_a_namespace_that_enforces_restricted(
    helm: Helm, release: str, namespace: str, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    helm.install(release, namespace, "standby.enabled=true")

    for name in (fullname(release), f"{fullname(release)}-standby"):
        deployment = wait_for_rollout(apps, "Deployment", name, namespace)
        assert deployment.status.available_replicas == 1
    pods: list[Any] = core.list_namespaced_pod(namespace).items
    assert len(pods) == 2
    assert all(p.spec.security_context.run_as_non_root for p in pods)


def test_the_operator_works_with_the_charts_cluster_wide_permissions(
    helm: Helm,
    release: str,
    namespace: str,
    app_namespace: str,
    start_operator: StartOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
) -> None:
    helm.install(release, namespace)
    operator = start_operator(release, None)

    sync_scenario(core, custom, app_namespace)
    rollout_scenario(core, apps, custom, app_namespace)

    assert permission_denials(operator.logs()) == []


def test_the_operator_works_with_roles_in_the_listed_namespaces_only(
    helm: Helm,
    release: str,
    namespace: str,
    app_namespace: str,
    start_operator: StartOperator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    custom: client.CustomObjectsApi,
    api_client: client.ApiClient,
) -> None:
    helm.install(release, namespace, f"watch.namespaces={{{app_namespace}}}")
    operator = start_operator(release, [app_namespace])

    sync_scenario(core, custom, app_namespace)
    rollout_scenario(core, apps, custom, app_namespace)

    assert permission_denials(operator.logs()) == []
    account = f"{namespace}:{fullname(release)}"
    assert _can(api_client, account, "get", "secrets", namespace=app_namespace)
    assert not _can(api_client, account, "list", "secrets")
    assert not _can(api_client, account, "list", "namespaces")
    assert not _can(api_client, account, "get", "secrets", namespace="default")
    # In its own namespace, only its keyring Secret, by name.
    assert _can(
        api_client, account, "get", "secrets", namespace=namespace, name="envpayload-keyring"
    )
    assert not _can(api_client, account, "get", "secrets", namespace=namespace, name="other")


def test_a_standby_operator_takes_over_when_the_active_one_stops(
    helm: Helm,
    release: str,
    namespace: str,
    app_namespace: str,
    start_operator: StartOperator,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
) -> None:
    helm.install(
        release, namespace, "standby.enabled=true", f"watch.namespaces={{{app_namespace}}}"
    )
    peering = f"--peering={fullname(release)}"
    active = start_operator(release, [app_namespace], peering, "--priority=100")
    standby = start_operator(release, [app_namespace], peering, "--priority=50")
    write_source(core, app_namespace, "app-env", "API_KEY=one\n")
    apply_envpayload(custom, app_namespace, "app", {"source": {"secretRef": {"name": "app-env"}}})
    wait_for_ready(custom, app_namespace, "app")

    # Kopf starts a peering operator paused; the standby stays so while the active lives.
    wait_for(
        lambda: "Pausing the watch-stream for envpayloads" in standby.logs(),
        timeout=15,
        what="the standby to pause its watches",
    )
    assert "Resuming operations" not in standby.logs()

    active.stop()
    write_source(core, app_namespace, "app-env", "API_KEY=two\n")

    wait_for(
        lambda: (secret_values(core, app_namespace, "app") or {}).get("API_KEY") == "two",
        timeout=60,
        what="the standby to sync the new value",
    )
    assert "Resuming operations" in standby.logs()
    assert permission_denials(active.logs() + standby.logs()) == []
