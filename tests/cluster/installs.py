"""Helpers for the installation tests: namespaces, Helm, and ServiceAccount credentials.

The operator under test runs as a local process, but with the credentials of the
ServiceAccount an installation created (a token from the TokenRequest API), so it can
do exactly what the installation allows and nothing more.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from localplane.plane import ControlPlane
from tests.binaries import CHART, helm_env, program, run

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


def restrict(core: client.CoreV1Api, namespace: str) -> None:
    """Make PodSecurity admission enforce the `restricted` profile in ``namespace``."""
    core.patch_namespace(namespace, {"metadata": {"labels": RESTRICTED}})


def create_namespace(core: client.CoreV1Api, stem: str) -> str:
    name = f"{stem}-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def service_account_kubeconfig(
    plane: ControlPlane, core: client.CoreV1Api, namespace: str, account: str, path: Path
) -> Path:
    """A kubeconfig that authenticates as ``namespace/account`` with a fresh token."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    issued: Any = core.create_namespaced_service_account_token(account, namespace, request)

    admin = yaml.safe_load(plane.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": account, "user": {"token": issued.status.token}}],
        "contexts": [
            {"name": account, "context": {"cluster": admin["clusters"][0]["name"], "user": account}}
        ],
        "current-context": account,
    }
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


class Helm:
    """``helm`` against the local plane, with its own folders under ``home``."""

    def __init__(self, plane: ControlPlane, home: Path) -> None:
        self.env = helm_env(home, plane.kubeconfig)

    def __call__(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([program("helm"), *args], env=self.env, check=check)

    def install(self, release: str, namespace: str, *settings: str) -> None:
        """Install the chart and wait until its Deployments are available.

        ``--take-ownership``: the session's CRD was created without Helm (by the test
        fixture, or by an earlier release kept on uninstall), as in a cluster that moves
        from `kubectl apply` to Helm.
        """
        argv: list[str | Path] = ["install", release, CHART, "-n", namespace]
        argv += ["--take-ownership", "--wait", "--timeout", "120s"]
        for setting in settings:
            argv += ["--set", setting]
        self(*argv)

    def uninstall(self, release: str, namespace: str) -> None:
        self("uninstall", release, "-n", namespace, "--wait", "--timeout", "60s", check=False)


def fullname(release: str) -> str:
    """The chart's object names for a release that does not contain the chart's name."""
    return f"{release}-envpayload-operator"
