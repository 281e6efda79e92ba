"""Helpers for tests of sealed payloads: the CLI as users run it, and the published keys."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import yaml
from kubernetes import client

from envpayload.publickeys import PublicKeys, PublishedKey
from envpayload.sealing.envelope import Scope, seal
from envpayload.spec import GROUP, PLURAL, VERSION
from localplane.plane import ControlPlane


def envpayload_cli(
    plane: ControlPlane, operator_namespace: str, *argv: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``envpayload ARGV...`` as an administrator would run it against the plane."""
    env = {
        **os.environ,
        "KUBECONFIG": str(plane.kubeconfig),
        "ENVPAYLOAD_NAMESPACE": operator_namespace,
    }
    return subprocess.run(
        [sys.executable, "-m", "envpayload", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def apply_manifest(custom: client.CustomObjectsApi, manifest: str) -> dict[str, Any]:
    """Create the EnvPayload of a manifest (as ``kubectl create -f`` would)."""
    body = yaml.safe_load(manifest)
    created: Any = custom.create_namespaced_custom_object(
        GROUP, VERSION, body["metadata"]["namespace"], PLURAL, body
    )
    return dict(created)


def published(core: client.CoreV1Api, operator_namespace: str) -> tuple[PublishedKey, ...]:
    """The keys the operator published, newest first."""
    return PublicKeys(core, operator_namespace).listed()


def sealed_with_cluster_key(
    core: client.CoreV1Api,
    operator_namespace: str,
    plaintext: str,
    *,
    namespace: str,
    name: str = "",
    scope: Scope = "strict",
    serial: int = 1,
) -> str:
    """An envelope sealed with the active key the operator published."""
    key = PublicKeys(core, operator_namespace).active()
    return seal(plaintext.encode(), key, scope=scope, serial=serial, namespace=namespace, name=name)
