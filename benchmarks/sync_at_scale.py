"""How the operator copes with 1,000 EnvPayloads of 30 keys each, on the local plane.

Prints: the time from the first EnvPayload created until all are Ready, the API writes
the operator made per payload (from the apiserver's audit log), the operator's peak
memory, and the time a plain client takes to write the same 1,000 Secrets directly,
with the ratio between the two. Run with ``python -m benchmarks sync_at_scale``;
``BENCH_PAYLOADS`` changes the count.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from envpayload.spec import GROUP, PLURAL, VERSION
from localplane.operator import RunningOperator
from localplane.plane import ControlPlane
from tests.cluster.envpayloads import operator_writes

REPO = Path(__file__).resolve().parent.parent
KEYS = 30
CLIENT_THREADS = 8  # the operator's default ENVPAYLOAD_SYNC_WORKERS


def payload(index: int) -> str:
    lines = [f"KEY_{k:02d}=value-{index}-{k}-{secrets.token_hex(12)}" for k in range(KEYS)]
    return "\n".join(lines) + "\n"


def secret(name: str, data: Mapping[str, str]) -> client.V1Secret:
    encoded: dict[str, bytes | str] = {
        k: base64.b64encode(v.encode()).decode() for k, v in data.items()
    }
    return client.V1Secret(metadata=client.V1ObjectMeta(name=name), data=encoded)


def main() -> None:
    count = int(os.environ.get("BENCH_PAYLOADS", "1000"))
    plane = ControlPlane(REPO / ".cluster")
    plane.state_dir.mkdir(exist_ok=True)
    plane.start(say=lambda line: None)
    api = config.new_client_from_config(config_file=str(plane.kubeconfig))  # type: ignore[no-untyped-call]
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    install_crd(api)

    namespace = f"bench-sync-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    texts = [payload(i) for i in range(count)]
    print(f"{count} EnvPayloads, {KEYS} keys each, namespace {namespace}", flush=True)

    # Baseline: a plain client writing the same Secrets, with the operator's parallelism.
    plain = time_plain_writes(core, namespace, texts)

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(
            pool.map(
                lambda i: core.create_namespaced_secret(
                    namespace, secret(f"src-{i}", {".env": texts[i]})
                ),
                range(count),
            )
        )

    log = plane.state_dir / f"{namespace}-operator.log"
    # At INFO, as in production: DEBUG logging alone costs a third of the event loop.
    operator = RunningOperator(plane, [namespace], log, operator_namespace=namespace, verbose=False)
    operator.start()
    try:
        started = time.time()
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            list(pool.map(lambda i: create_envpayload(custom, namespace, i), range(count)))
        created = time.time()
        ready_at = wait_all_ready(custom, namespace, count)
        peak_kib = peak_memory_kib(operator.pid)
        writes = count_writes(plane, namespace, started)

        took = ready_at - started
        print(f"create {count} EnvPayloads:          {created - started:8.1f} s")
        print(f"all Ready after first create:      {took:8.1f} s ({count / took:.0f} payloads/s)")
        print(f"plain client writing {count} Secrets: {plain:8.1f} s")
        print(f"ratio operator / plain client:      {took / plain:8.1f}")
        total = sum(writes.values())
        print(f"operator API writes:               {total} ({total / count:.2f} per payload)")
        for (verb, resource), n in sorted(writes.items()):
            print(f"  {verb:<7} {resource:<22} {n:6d}  ({n / count:.2f} per payload)")
        print(f"operator peak memory (VmHWM):      {peak_kib / 1024:8.1f} MiB")
    finally:
        cleanup(core, custom, namespace)
        operator.stop()
        log.unlink(missing_ok=True)


def install_crd(api: client.ApiClient) -> None:
    manifest = yaml.safe_load((REPO / "manifests/crds/envpayloads.envpayload.io.yaml").read_text())
    extensions = client.ApiextensionsV1Api(api)
    try:
        extensions.create_custom_resource_definition(manifest)
        time.sleep(2)
    except ApiException as e:
        if e.status != 409:
            raise


def time_plain_writes(core: client.CoreV1Api, namespace: str, texts: list[str]) -> float:
    """Seconds a plain client takes to create the Secrets the operator would write."""
    parsed = [dict(line.split("=", 1) for line in text.splitlines()) for text in texts]
    started = time.time()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(
            pool.map(
                lambda i: core.create_namespaced_secret(namespace, secret(f"plain-{i}", parsed[i])),
                range(len(texts)),
            )
        )
    took = time.time() - started
    core.delete_collection_namespaced_secret(namespace)
    return took


def create_envpayload(custom: client.CustomObjectsApi, namespace: str, index: int) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "EnvPayload",
        "metadata": {"name": f"app-{index}"},
        "spec": {"source": {"secretRef": {"name": f"src-{index}"}}, "refreshInterval": "1h"},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)


def wait_all_ready(custom: client.CustomObjectsApi, namespace: str, count: int) -> float:
    while True:
        listed: Any = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
        ready = sum(1 for obj in listed["items"] if is_ready(obj))
        if ready >= count:
            return time.time()
        time.sleep(0.5)


def is_ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def peak_memory_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def count_writes(plane: ControlPlane, namespace: str, since: float) -> Counter[tuple[str, str]]:
    """The operator's writes by (verb, resource[/subresource])."""
    counted: Counter[tuple[str, str]] = Counter()
    for event in operator_writes(plane, namespace, after=since):
        ref = event["objectRef"]
        resource = ref.get("resource", "") + (
            f"/{ref['subresource']}" if ref.get("subresource") else ""
        )
        counted[(event["verb"], resource)] += 1
    return counted


def cleanup(core: client.CoreV1Api, custom: client.CustomObjectsApi, namespace: str) -> None:
    # The operator is still running, so the EnvPayloads' finalizers are released.
    core.delete_namespace(namespace)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            core.read_namespace(namespace)
        except ApiException:
            return
        time.sleep(1)
