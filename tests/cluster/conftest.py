"""Fixtures for tests on the real local control plane.

One plane serves the whole session: the one ``make cluster`` started when its
kubeconfig answers, otherwise a fresh one in a temporary folder, stopped at the end.
Each test gets a namespace of its own, so tests never see each other's objects.

With CI=true a plane that cannot start fails the run; elsewhere (a laptop without Go,
say) the cluster tests are skipped with the reason.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from localplane.operator import RunningOperator
from localplane.plane import ControlPlane, PlaneError
from tests.cluster.envpayloads import install_crd, release_envpayloads
from tests.support import IN_CI

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    shared = ControlPlane(REPO / ".cluster")
    if shared.is_up():
        yield shared
        return

    own = ControlPlane(tmp_path_factory.mktemp("plane"))
    try:
        own.start(say=lambda line: print(line, flush=True))
    except (PlaneError, OSError) as e:
        own.stop(quiet=True)
        if IN_CI:
            pytest.fail(f"the local control plane could not start: {e}")
        pytest.skip(f"the local control plane could not start: {e}")
    try:
        yield own
    finally:
        own.stop(quiet=True)


@pytest.fixture(scope="session")
def api_client(plane: ControlPlane) -> client.ApiClient:
    """An administrator's client for the test's own reads and writes."""
    api: client.ApiClient = config.new_client_from_config(config_file=str(plane.kubeconfig))  # type: ignore[no-untyped-call]
    return api


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def namespace(
    request: pytest.FixtureRequest, core: client.CoreV1Api, custom: client.CustomObjectsApi
) -> Iterator[str]:
    """A fresh namespace named after the test, deleted afterwards (without waiting)."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{stem}-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    # The test's operator has stopped by now (it was set up after the namespace): nothing
    # would remove Kopf's finalizer, and the namespace would stay Terminating for good.
    release_envpayloads(custom, name)
    core.delete_namespace(name)


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def crd(api_client: client.ApiClient) -> str:
    """The EnvPayload CRD from manifests/, installed (or updated) and established."""
    return install_crd(api_client)


@pytest.fixture
def operator_env() -> dict[str, str]:
    """Extra environment for the operator under test; tests override this fixture."""
    return {}


@pytest.fixture
def operator(
    plane: ControlPlane,
    crd: str,
    namespace: str,
    operator_env: dict[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[RunningOperator]:
    """``envpayload run --namespace <the test's namespace>``, stopped after the test.

    The operator keeps its own objects (keyring, public keys) in the same namespace. Its
    log is printed when the test fails.
    """
    running = RunningOperator(
        plane,
        [namespace],
        tmp_path / "operator.log",
        operator_namespace=namespace,
        env=operator_env,
    )
    running.start()
    yield running
    running.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"--- operator log ---\n{running.logs()}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
