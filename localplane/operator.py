"""The operator on the local plane, run as its users run it: ``envpayload run`` in a process.

The tests, the demo and the benchmarks all start it through :class:`RunningOperator`. A
real process (not Kopf in a thread) so a test sees exactly what the command does, can
read its complete log (the canary tests grep it), and can kill it at any moment (the
crash-safety tests do). It talks to the plane as its own user, so the audit log tells
its writes apart from the test's; or, given a kubeconfig, as whoever that names (the
installation tests use a token of the ServiceAccount that the Helm chart created).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from localplane.plane import ControlPlane, free_port


class OperatorDidNotStart(RuntimeError):
    """The operator exited, or did not answer its liveness probe, while starting."""


class RunningOperator:
    """``envpayload run --namespace ...`` against the local plane, with its log in a file.

    ``namespaces=None`` serves every namespace (``--all-namespaces``); ``args`` are added
    to the command line (``--peering``, say).
    """

    def __init__(
        self,
        plane: ControlPlane,
        namespaces: Sequence[str] | None,
        log_path: Path,
        *,
        operator_namespace: str,
        env: Mapping[str, str] | None = None,
        verbose: bool = True,
        kubeconfig: Path | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.plane = plane
        self.namespaces = None if namespaces is None else list(namespaces)
        self.log_path = log_path
        self.operator_namespace = operator_namespace
        self.env = dict(env or {})
        self.verbose = verbose
        self.kubeconfig = kubeconfig or plane.operator_kubeconfig
        self.args = list(args)
        self.liveness_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        argv = [sys.executable, "-m", "envpayload", "run", *(["--verbose"] if self.verbose else [])]
        if self.namespaces is None:
            argv += ["--all-namespaces"]
        else:
            argv += [f"--namespace={ns}" for ns in self.namespaces]
        argv += [f"--liveness=http://127.0.0.1:{self.liveness_port}/healthz", *self.args]
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "ENVPAYLOAD_NAMESPACE": self.operator_namespace,
            "ENVPAYLOAD_METRICS_PORT": "0",
            "ENVPAYLOAD_MIN_RESTART_INTERVAL_SECONDS": "0",
            **self.env,
        }
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            self._wait_alive(timeout)
        except OperatorDidNotStart:
            self.kill()  # never leave a half-started operator behind
            raise

    def _wait_alive(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None  # start() set it
            if self._process.poll() is not None:
                raise OperatorDidNotStart(
                    f"the operator exited with {self._process.returncode}:\n{self.logs()}"
                )
            if self._healthy():
                return
            time.sleep(0.1)
        raise OperatorDidNotStart(
            f"the operator did not become alive in {timeout}s:\n{self.logs()}"
        )

    def _healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.liveness_port, timeout=1)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 20) -> None:
        """Stop gracefully (SIGTERM), as Kubernetes stops a pod."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """Stop at once (SIGKILL), as a crash or an OOM kill would."""
        self._signal(signal.SIGKILL, 10)

    def _signal(self, signum: int, timeout: float) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signum)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def logs(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""


@contextlib.contextmanager
def operator_with(
    plane: ControlPlane, namespace: str, log_path: Path, env: Mapping[str, str]
) -> Iterator[RunningOperator]:
    """An operator for one namespace with its own environment, for tests that need several."""
    running = RunningOperator(plane, [namespace], log_path, operator_namespace=namespace, env=env)
    try:
        running.start()
        yield running
    finally:
        running.stop()
