"""A real Kubernetes control plane on loopback: etcd, apiserver, controllers, fake nodes.

Every Kubernetes behaviour of envpayload is tested against this plane, never a mock of
the API. It runs the upstream programs, built by ``localplane/build.sh``:

- etcd, with its data on /dev/shm when there is one (no fsync: the plane is disposable);
- kube-apiserver with RBAC, the default admission plugins (PodSecurity among them) and an
  audit log of every write, so tests and benchmarks can count API writes by user;
- kube-controller-manager, so Deployments get ReplicaSets, owners are garbage collected
  and namespaces finish deleting;
- kube-scheduler, and kwok keeping one fake node Ready and marking its pods Running and
  Ready, so rolling restarts complete as on a real cluster.

Everything listens on 127.0.0.1 on free ports. The state folder holds the certificates,
logs, the audit log, two kubeconfigs (``kubeconfig`` for an administrator and
``operator.kubeconfig`` for an operator under test, a separate user in the audit log)
and ``plane.json`` with the process ids, so another command can find and stop the plane.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localplane import pki

HERE = Path(__file__).resolve().parent
NODE_NAME = "kwok-node-0"
ADMIN_USER = "admin"
OPERATOR_USER = "envpayload-operator-under-test"

# Log every write (Events included: they are writes too) except lease renewals, which
# kwok makes every few seconds. Metadata level: who wrote what object, never its content.
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    resources:
      - group: coordination.k8s.io
        resources: [leases]
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
"""

Say = Callable[[str], None]


class PlaneError(RuntimeError):
    """The control plane could not be built, started or reached."""


@dataclass
class PlaneState:
    """What ``plane.json`` records about a running plane."""

    apiserver_port: int
    etcd_port: int
    data_dir: str
    pids: dict[str, int] = field(default_factory=dict)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def binary_dir(component: str) -> Path:
    """The cached folder of a component's binaries (see build.sh)."""
    out = subprocess.run(
        [str(HERE / "build.sh"), "--bin", component], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip())


def build(*components: str) -> None:
    """Build what is missing; a warm cache returns at once without starting Go."""
    result = subprocess.run([str(HERE / "build.sh"), *components], check=False)
    if result.returncode != 0:
        raise PlaneError(f"building {' '.join(components) or 'the plane'} failed")


class ControlPlane:
    """One local control plane whose state lives in ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.kubeconfig = state_dir / "kubeconfig"
        self.operator_kubeconfig = state_dir / "operator.kubeconfig"
        self.audit_log = state_dir / "audit.log"
        self.logs = state_dir / "logs"
        self._state_file = state_dir / "plane.json"
        self._pki = state_dir / "pki"
        # The processes this object started (a test session's plane); a plane found on
        # disk (started by `make cluster`) is stopped by pid instead.
        self._children: list[subprocess.Popen[bytes]] = []

    # -- asking about a plane ------------------------------------------------------------

    def state(self) -> PlaneState | None:
        try:
            return PlaneState(**json.loads(self._state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def is_up(self) -> bool:
        """True when this folder's plane runs and its apiserver answers ``/readyz``."""
        state = self.state()
        if state is None or not all(_alive(pid) for pid in state.pids.values()):
            return False
        try:
            status, _ = self.request("GET", "/readyz")
        except OSError:
            return False
        return status == 200

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One API request as the administrator; returns the status and decoded JSON."""
        state = self.state()
        if state is None:
            raise PlaneError(f"no plane recorded in {self.state_dir}")
        context = ssl.create_default_context(cafile=str(self._pki / "ca.crt"))
        context.load_cert_chain(self._pki / "admin.crt", self._pki / "admin.key")
        conn = http.client.HTTPSConnection(
            "127.0.0.1", state.apiserver_port, context=context, timeout=10
        )
        try:
            payload = None if body is None else json.dumps(body)
            conn.request(method, path, payload, {"Content-Type": "application/json"})
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")

    # -- starting ------------------------------------------------------------------------

    def start(self, say: Say = print) -> None:
        """Build what is missing, start every component and wait until pods can run."""
        if self.is_up():
            say(f"The control plane in {self.state_dir} is already running; reusing it.")
            return
        self.stop(quiet=True)
        began = time.monotonic()

        build()
        kube, etcd_bin, kwok = binary_dir("kubernetes"), binary_dir("etcd"), binary_dir("kwok")

        self.logs.mkdir(parents=True, exist_ok=True)
        self._write_pki()
        shm = Path("/dev/shm")  # noqa: S108 - tmpfs for etcd; mkdtemp makes a private folder
        data_dir = Path(
            tempfile.mkdtemp(prefix="envpayload-etcd-", dir=shm if shm.is_dir() else None)
        )
        state = PlaneState(
            apiserver_port=free_port(), etcd_port=free_port(), data_dir=str(data_dir)
        )
        self._save(state)

        try:
            self._start_etcd(state, etcd_bin / "etcd")
            self._start_apiserver(state, kube / "kube-apiserver")
            self._write_kubeconfigs(state)
            self._wait_for_apiserver(state)
            self._start_controllers(state, kube)
            self._start_kwok(state, kwok)
            self._create_node()
            self._wait_for_node_and_namespace()
        except BaseException:
            self.stop(quiet=True)
            raise
        took = time.monotonic() - began
        say(f"Control plane up in {took:.1f}s (apiserver on 127.0.0.1:{state.apiserver_port})")

    def _save(self, state: PlaneState) -> None:
        self._state_file.write_text(json.dumps(asdict(state), indent=2))

    def _spawn(self, state: PlaneState, name: str, argv: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        # A session of its own: the plane outlives `make cluster` and is stopped by pid.
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.state_dir,
        )
        log.close()
        self._children.append(process)
        state.pids[name] = process.pid
        self._save(state)

    def _write_pki(self) -> None:
        self._pki.mkdir(parents=True, exist_ok=True)
        ca = pki.CertificateAuthority()
        (self._pki / "ca.crt").write_bytes(ca.cert_pem)
        issued = {
            "apiserver": ca.issue(
                "kube-apiserver",
                server_names=(
                    "127.0.0.1",
                    "localhost",
                    "10.0.0.1",
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                ),
            ),
            "admin": ca.issue(ADMIN_USER, organization="system:masters"),
            "operator": ca.issue(OPERATOR_USER, organization="system:masters"),
            "controller-manager": ca.issue("system:kube-controller-manager"),
            "scheduler": ca.issue("system:kube-scheduler"),
            "kwok": ca.issue("kwok", organization="system:masters"),
            "service-account": pki.service_account_keys(),
        }
        for name, creds in issued.items():
            (self._pki / f"{name}.crt").write_bytes(creds.cert)
            pki.write_private(self._pki / f"{name}.key", creds.key)
        (self._pki / "audit-policy.yaml").write_text(AUDIT_POLICY)

    def _kubeconfig(self, state: PlaneState, user: str) -> str:
        import base64

        def b64(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "envpayload-local",
                    "cluster": {
                        "server": f"https://127.0.0.1:{state.apiserver_port}",
                        "certificate-authority-data": b64(self._pki / "ca.crt"),
                    },
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": b64(self._pki / f"{user}.crt"),
                        "client-key-data": b64(self._pki / f"{user}.key"),
                    },
                }
            ],
            "contexts": [
                {
                    "name": "envpayload-local",
                    "context": {"cluster": "envpayload-local", "user": user},
                }
            ],
            "current-context": "envpayload-local",
        }
        return json.dumps(config, indent=2)

    def _write_kubeconfigs(self, state: PlaneState) -> None:
        for user in ("admin", "operator", "controller-manager", "scheduler", "kwok"):
            target = self.kubeconfig if user == "admin" else self.state_dir / f"{user}.kubeconfig"
            pki.write_private(target, self._kubeconfig(state, user).encode())

    def _start_etcd(self, state: PlaneState, etcd: Path) -> None:
        peer = free_port()
        client = f"http://127.0.0.1:{state.etcd_port}"
        self._spawn(
            state,
            "etcd",
            [
                str(etcd),
                "--name=localplane",
                f"--data-dir={state.data_dir}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=localplane=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )
        _wait_until(
            lambda: _http_ok(f"127.0.0.1:{state.etcd_port}", "/health"),
            60,
            "etcd to become healthy",
            self.logs / "etcd.log",
        )

    def _start_apiserver(self, state: PlaneState, apiserver: Path) -> None:
        p = self._pki
        self._spawn(
            state,
            "kube-apiserver",
            [
                str(apiserver),
                f"--etcd-servers=http://127.0.0.1:{state.etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={state.apiserver_port}",
                f"--cert-dir={p}",
                f"--tls-cert-file={p / 'apiserver.crt'}",
                f"--tls-private-key-file={p / 'apiserver.key'}",
                f"--client-ca-file={p / 'ca.crt'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={p / 'service-account.crt'}",
                f"--service-account-signing-key-file={p / 'service-account.key'}",
                "--endpoint-reconciler-type=none",
                f"--audit-policy-file={p / 'audit-policy.yaml'}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-maxsize=0",
            ],
        )

    def _wait_for_apiserver(self, state: PlaneState) -> None:
        def ready() -> bool:
            try:
                return self.request("GET", "/readyz")[0] == 200
            except OSError:
                return False

        _wait_until(ready, 120, "kube-apiserver to become ready", self.logs / "kube-apiserver.log")

    def _start_controllers(self, state: PlaneState, kube: Path) -> None:
        for name, user in (
            ("kube-controller-manager", "controller-manager"),
            ("kube-scheduler", "scheduler"),
        ):
            config = str(self.state_dir / f"{user}.kubeconfig")
            argv = [
                str(kube / name),
                f"--kubeconfig={config}",
                f"--authentication-kubeconfig={config}",
                f"--authorization-kubeconfig={config}",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--leader-elect=false",
            ]
            if name == "kube-controller-manager":
                argv += [
                    f"--service-account-private-key-file={self._pki / 'service-account.key'}",
                    f"--root-ca-file={self._pki / 'ca.crt'}",
                    "--use-service-account-credentials=true",
                ]
            self._spawn(state, name, argv)

    def _start_kwok(self, state: PlaneState, kwok: Path) -> None:
        stages = sorted((kwok / "stages").glob("*.yaml"))
        self._spawn(
            state,
            "kwok",
            [
                str(kwok / "kwok"),
                f"--kubeconfig={self.state_dir / 'kwok.kubeconfig'}",
                "--manage-all-nodes=true",
                "--node-lease-duration-seconds=40",
                f"--server-address=127.0.0.1:{free_port()}",
                *[f"--config={stage}" for stage in stages],
            ],
        )

    def _create_node(self) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {
                    "kubernetes.io/hostname": NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            "status": {
                "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            },
        }
        status, body = self.request("POST", "/api/v1/nodes", node)
        if status not in (201, 409):
            raise PlaneError(f"creating node {NODE_NAME} failed with {status}: {body}")

    def _wait_for_node_and_namespace(self) -> None:
        def node_ready() -> bool:
            status, node = self.request("GET", f"/api/v1/nodes/{NODE_NAME}")
            if status != 200:
                return False
            conditions = node.get("status", {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        def default_service_account() -> bool:
            return (
                self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200
            )

        _wait_until(node_ready, 60, f"node {NODE_NAME} to become Ready", self.logs / "kwok.log")
        _wait_until(
            default_service_account,
            60,
            "the default ServiceAccount",
            self.logs / "kube-controller-manager.log",
        )

    # -- stopping ------------------------------------------------------------------------

    def stop(self, quiet: bool = False, say: Say = print) -> None:
        """Stop every process of this plane and remove its state."""
        state = self.state()
        if state is not None:
            # Reverse start order: nodes and controllers first, etcd last.
            for name, pid in reversed(list(state.pids.items())):
                _terminate(pid)
                if not quiet:
                    say(f"stopped {name} (pid {pid})")
            shutil.rmtree(state.data_dir, ignore_errors=True)
        for child in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1)  # already signalled above: this only reaps it
        self._children.clear()
        for leftover in (
            self._state_file,
            self.kubeconfig,
            self.operator_kubeconfig,
            self.audit_log,
        ):
            leftover.unlink(missing_ok=True)
        for folder in (self._pki, self.logs):
            shutil.rmtree(folder, ignore_errors=True)
        for kubeconfig in self.state_dir.glob("*.kubeconfig"):
            kubeconfig.unlink()

    # -- reading the audit log -----------------------------------------------------------

    def audit_events(self) -> Iterator[dict[str, Any]]:
        """Every write the apiserver has audited so far, oldest first."""
        with contextlib.suppress(FileNotFoundError), self.audit_log.open() as log:
            for line in log:
                with contextlib.suppress(ValueError):
                    yield json.loads(line)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate(pid: int, grace: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        _reap(pid)
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    # A plane started by this very process (a test session) leaves zombies otherwise.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _http_ok(host: str, path: str) -> bool:
    conn = http.client.HTTPConnection(host, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    tail = ""
    with contextlib.suppress(OSError):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise PlaneError(
        f"timed out after {timeout:.0f}s waiting for {what}; last lines of {log}:\n{tail}"
    )
