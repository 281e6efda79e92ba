"""What the demo does to the cluster and how it prints it.

The demo acts through the Kubernetes API and shows results with ``kubectl`` (built with
the local plane), so what it prints is what a user would see in their own terminal.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from envpayload.devtools.webhook_receiver import AlertReceiver, describe
from envpayload.spec import GROUP, PLURAL, VERSION
from localplane.operator import RunningOperator
from localplane.plane import ControlPlane, binary_dir

OPERATOR_NAMESPACE = "envpayload-system"


class DemoError(RuntimeError):
    """A step did not produce what it should have."""


class Demo:
    """The local plane, the operator, and the demo's namespace."""

    def __init__(self, repo: Path, namespace: str) -> None:
        self.repo = repo
        self.namespace = namespace
        self.plane = ControlPlane(repo / ".cluster")
        self.operator_log = repo / ".cluster" / "demo-operator.log"
        self.kubectl_path = str(binary_dir("kubernetes") / "kubectl")
        self._operator: RunningOperator | None = None
        # Stands in for the Slack/Teams channel behind OPERATIONS_ALERT_WEBHOOK.
        self.alerts = AlertReceiver()
        self._core: client.CoreV1Api | None = None
        self._apps: client.AppsV1Api | None = None
        self._custom: client.CustomObjectsApi | None = None

    # -- setting up and tearing down -----------------------------------------------------

    def start(self) -> None:
        self.step("0. A local Kubernetes control plane and the operator")
        self.plane.state_dir.mkdir(parents=True, exist_ok=True)
        self.plane.start(say=self.say)
        api = config.new_client_from_config(config_file=str(self.plane.kubeconfig))  # type: ignore[no-untyped-call]
        self._core, self._custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        self._apps = client.AppsV1Api(api)

        # Server-side: the CRD may have been created by the tests, without the annotation
        # that client-side apply expects (kubectl would warn about it).
        self.kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            str(self.repo / "manifests/crds"),
            namespaced=False,
        )
        self._ensure_namespace(OPERATOR_NAMESPACE)
        self.operator_log.unlink(missing_ok=True)
        self.alerts.start()
        self._operator = RunningOperator(
            self.plane,
            [self.namespace],
            self.operator_log,
            operator_namespace=OPERATOR_NAMESPACE,
            env={"OPERATIONS_ALERT_WEBHOOK": self.alerts.url, "ENVPAYLOAD_ALERT_FORMAT": "generic"},
        )
        self._operator.start()
        self.say(f"OPERATIONS_ALERT_WEBHOOK={self.alerts.url}   (a local receiver)")
        self.say(f"envpayload run --namespace {self.namespace}   (log: {self.operator_log})")
        self._fresh_namespace()

    def stop(self) -> None:
        if self._operator is not None:
            self._operator.stop()
        self.alerts.stop()

    def _ensure_namespace(self, name: str) -> None:
        try:
            self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        except ApiException as e:
            if e.status != 409:
                raise

    def _fresh_namespace(self) -> None:
        # A namespace left by an earlier run is removed while the operator runs, so the
        # EnvPayloads' finalizers are released and the namespace can go.
        try:
            self.core.delete_namespace(self.namespace)
            self.say(f"Removing namespace {self.namespace} left by an earlier run ...")
        except ApiException as e:
            if e.status != 404:
                raise

        def gone() -> bool:
            try:
                self.core.read_namespace(self.namespace)
            except ApiException as e:
                return bool(e.status == 404)
            return False

        self._wait(gone, 120, f"namespace {self.namespace} to be deleted")
        self._ensure_namespace(self.namespace)

    @property
    def core(self) -> client.CoreV1Api:
        assert self._core is not None
        return self._core

    @property
    def apps(self) -> client.AppsV1Api:
        assert self._apps is not None
        return self._apps

    @property
    def custom(self) -> client.CustomObjectsApi:
        assert self._custom is not None
        return self._custom

    # -- printing ------------------------------------------------------------------------

    def step(self, title: str) -> None:
        print(f"\n\033[1m== {title}\033[0m", flush=True)

    def say(self, text: str) -> None:
        print(text, flush=True)

    def kubectl(
        self,
        *args: str,
        namespaced: bool = True,
        stdin: str | None = None,
        stdin_from: str | None = None,
    ) -> str:
        """Run kubectl against the plane, printing it as a user types it.

        ``stdin_from`` names the file the printed command reads ``stdin`` from.
        """
        argv = [self.kubectl_path, *(["-n", self.namespace] if namespaced else []), *args]
        shown = " ".join(["kubectl", *argv[1:], *([f"< {stdin_from}"] if stdin_from else [])])
        print(f"$ {shown}", flush=True)
        env = {**os.environ, "KUBECONFIG": str(self.plane.kubeconfig)}
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=env, check=False
        )
        output = (result.stdout + result.stderr).rstrip()
        if output:
            print(output, flush=True)
        if result.returncode != 0:
            raise DemoError(f"{shown} failed")
        return result.stdout

    def cli(
        self, *args: str, stdin: str | None = None, shown: str = "", capture: bool = False
    ) -> str:
        """Run the envpayload command line against the plane, printing it as a user types it.

        With ``capture`` the output is returned (it goes to a file in the printed command)
        instead of shown.
        """
        print(f"$ {shown or ' '.join(['envpayload', *args])}", flush=True)
        env = {
            **os.environ,
            "KUBECONFIG": str(self.plane.kubeconfig),
            "ENVPAYLOAD_NAMESPACE": OPERATOR_NAMESPACE,
        }
        argv = [sys.executable, "-m", "envpayload", *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=env, check=False
        )
        if result.stdout.strip() and not capture:
            print(result.stdout.rstrip(), flush=True)
        if result.stderr.strip():
            print(result.stderr.rstrip(), flush=True)
        if result.returncode != 0:
            raise DemoError(f"envpayload {args[0]} failed")
        return result.stdout

    # -- acting --------------------------------------------------------------------------

    def write_source(self, name: str, text: str) -> None:
        """Create or replace the source Secret (what CI does with --from-file)."""
        secret = client.V1Secret(
            metadata=client.V1ObjectMeta(name=name),
            data={".env": base64.b64encode(text.encode()).decode()},
        )
        try:
            self.core.create_namespaced_secret(self.namespace, secret)
        except ApiException as e:
            if e.status != 409:
                raise
            self.core.replace_namespaced_secret(name, self.namespace, secret)

    def apply_manifest(self, manifest: str) -> None:
        print(manifest.strip(), flush=True)
        self.kubectl("apply", "-f", "-", stdin=manifest)

    # -- looking -------------------------------------------------------------------------

    def envpayload(self, name: str) -> dict[str, Any]:
        obj: Any = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )
        return dict(obj)

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.envpayload(name).get("status") or {})

    def ready(self, name: str) -> dict[str, Any]:
        conditions = self.status(name).get("conditions") or []
        return next((c for c in conditions if c["type"] == "Ready"), {})

    def wait_ready(self, name: str, status: str = "True", timeout: float = 30) -> None:
        def done() -> bool:
            obj = self.envpayload(name)
            current = (obj.get("status") or {}).get("observedGeneration") == obj["metadata"][
                "generation"
            ]
            return current and self.ready(name).get("status") == status

        self._wait(done, timeout, f"EnvPayload {name} to be Ready={status}")

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 30) -> None:
        self._wait(check, timeout, what)

    def wait_for_change(self, name: str, since: str, timeout: float = 30) -> None:
        self._wait(
            lambda: self.status(name).get("lastChangeTime") != since, timeout, "the change to land"
        )

    def wait_available(self, deployment: str, timeout: float = 60) -> None:
        """Wait until the Deployment's newest pod template runs on every replica."""

        def done() -> bool:
            d: Any = self.apps.read_namespaced_deployment(deployment, self.namespace)
            wanted = d.spec.replicas
            return bool(
                d.status.observed_generation == d.metadata.generation
                and d.status.updated_replicas == wanted
                and d.status.available_replicas == wanted
                and (d.status.replicas or 0) == wanted
            )

        self._wait(done, timeout, f"Deployment {deployment} to be available")

    def revision(self, deployment: str) -> str:
        """The Deployment's rollout revision: it moves with every new pod template."""
        d: Any = self.apps.read_namespaced_deployment(deployment, self.namespace)
        return str((d.metadata.annotations or {}).get("deployment.kubernetes.io/revision"))

    def wait_for_restart(self, envpayload: str, deployment: str, timeout: float = 60) -> None:
        """Wait until the EnvPayload reports the Deployment's restart as available."""

        def available() -> bool:
            rollouts = self.status(envpayload).get("rollouts") or []
            return any(
                r.get("kind") == "Deployment"
                and r.get("name") == deployment
                and r.get("outcome") == "Available"
                for r in rollouts
            )

        self._wait(available, timeout, f"Deployment {deployment} to restart")

    def secret_version(self, name: str) -> str:
        secret: Any = self.core.read_namespaced_secret(name, self.namespace)
        return str(secret.metadata.resource_version)

    def show_secret_keys(self, name: str) -> None:
        secret: Any = self.core.read_namespaced_secret(name, self.namespace)
        self.say(f"Secret {name} (keys and sizes; values stay in the Secret):")
        for key, value in (secret.data or {}).items():
            self.say(f"  {key:<36} {len(base64.b64decode(value)):>4} bytes")

    def show_status(self, name: str) -> None:
        status = self.status(name)
        fields = ("keys", "sourceVersion", "lastSyncTime", "lastChangeTime", "rollouts")
        shown: dict[str, Any] = {k: status[k] for k in fields if k in status}
        shown["Ready"] = {k: self.ready(name).get(k) for k in ("status", "reason", "message")}
        self.say(f"EnvPayload {name} status:")
        self.say("  " + yaml.safe_dump(shown, sort_keys=False).rstrip().replace("\n", "\n  "))

    def show_events(self, name: str, reason: str, containing: str = "") -> None:
        """Wait for the newest Event with ``reason`` (and text) about ``name``, and print it."""

        def newest() -> Any:
            items: list[Any] = self.core.list_namespaced_event(
                self.namespace, field_selector=f"involvedObject.name={name},reason={reason}"
            ).items
            matching = [e for e in items if containing in (e.message or "")]
            return max(matching, key=lambda e: e.metadata.creation_timestamp, default=None)

        self._wait(lambda: newest() is not None, 15, f"a {reason} Event")
        event = newest()
        self.say(f"Event {event.type} {event.reason}: {event.message}")

    def show_alert(self, kind: str, about: str) -> None:
        """Wait for an alert of ``kind`` about EnvPayload ``about`` and print it."""

        def found() -> dict[str, Any] | None:
            return next(
                (
                    a
                    for a in self.alerts.received
                    if a.get("kind") == kind and about in json.dumps(a)
                ),
                None,
            )

        self._wait(lambda: found() is not None, 30, f"a {kind} alert")
        self.say(f"Alert received at the webhook: {describe(found() or {})}")

    @staticmethod
    def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")
