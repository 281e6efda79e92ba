"""The Kopf wiring: every handler of the operator, each a few lines long.

- one daemon per EnvPayload runs its :class:`~envpayload.controller.worker.SyncLoop`;
- event handlers wake that loop when its spec changes, or when a Secret it reads or
  writes changes (so a source change lands within seconds, without polling);
- in-memory indexes map Secrets to the EnvPayloads that read or write them, and GitHub
  repositories and refs to the EnvPayloads that read a file there;
- the GitHub push webhook (controller/webhook.py) starts with the operator when its
  secret is set, and wakes the loops of the EnvPayloads a push concerns.

NB: there are no create/update handlers on Secrets: Kopf would store each Secret's data,
in plain text, in its last-handled-configuration annotation. Event handlers and indexes
store nothing. Nor are there create/update/delete handlers on EnvPayloads: Kopf would
copy each spec (an inline envelope of up to 1.5 MB) into an annotation on every change.
EnvPayloads carry Kopf's finalizer only because daemons need one (the loop notices its
EnvPayload's deletion when its daemon stops); the finalizer and Kopf's annotations use
the ``envpayload.io`` prefix.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from envpayload.controller import webhook
from envpayload.controller.runtime import Runtime
from envpayload.controller.worker import SyncLoop
from envpayload.fetch.secret_ref import source_version
from envpayload.report.metrics import METRICS
from envpayload.spec import GROUP, PLURAL, VERSION

PREFIX = "envpayload.io"


def configure(settings: kopf.OperatorSettings) -> None:
    """Kopf settings that matter for safety and for a quiet API."""
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    # Events are posted on purpose (report/events.py), never copied from log lines.
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    # Stop a daemon quickly when its EnvPayload goes away or the operator stops.
    settings.watching.server_timeout = 300


@kopf.on.startup()
async def on_startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    configure(settings)
    runtime: Runtime = memo["runtime"]
    for service in runtime.services:
        try:
            await service.start()
        except Exception as e:
            # Retrying will not free a taken port: stop the operator, saying why.
            raise kopf.PermanentError(str(e)) from e


@kopf.on.startup()
async def start_github_webhook(memo: Any, **kwargs: Any) -> None:
    runtime: Runtime = memo["runtime"]
    settings = runtime.settings
    if not settings.github_webhook_secret:
        return
    # Kopf hands its indexes to startup handlers too: empty now, filled as it watches.
    index: kopf.Index[Any, tuple[str, str]] = kwargs["github_sources"]
    hook = webhook.GitHubWebhook(
        settings.github_webhook_secret,
        lambda key: index.get(key, ()),
        runtime.wakeups,
        metrics=METRICS,
    )
    memo["github_webhook"] = await webhook.serve(
        hook, settings.webhook_address, settings.webhook_port
    )


@kopf.on.cleanup()
async def on_cleanup(memo: Any, **_: Any) -> None:
    runtime: Runtime = memo["runtime"]
    if (runner := memo.get("github_webhook")) is not None:
        await runner.cleanup()
    for service in reversed(runtime.services):
        await service.stop()
    runtime.executor.shutdown(wait=False, cancel_futures=True)


@kopf.on.probe(id="syncLoops")
async def count_sync_loops(memo: Any, **_: Any) -> int:
    """Reported by the liveness endpoint; answering at all is what proves liveness."""
    return len(memo["runtime"].wakeups)


@kopf.index(GROUP, VERSION, PLURAL)
def source_secrets(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, str]:
    """(namespace, Secret name) -> the EnvPayloads reading that Secret.

    A GitHub source's credentials Secret counts too: fixing a token retries at once.
    """
    source = spec.get("source") or {}
    if ref := source.get("secretRef"):
        return {(namespace, ref["name"]): name}
    credentials = ((source.get("github") or {}).get("credentialsSecretRef") or {}).get("name")
    return {(namespace, credentials): name} if credentials else {}


@kopf.index(GROUP, VERSION, PLURAL)
def github_sources(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[Any, tuple[str, str]]:
    """(repository, branch or tag; '' for the default) -> the EnvPayloads reading there."""
    github = (spec.get("source") or {}).get("github")
    if not github:
        return {}
    key = webhook.source_key(github["repository"], github.get("ref") or "")
    return {key: (namespace or "", name)}


@kopf.index(GROUP, VERSION, PLURAL)
def target_secrets(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, str]:
    """(namespace, Secret name) -> the EnvPayloads writing that Secret."""
    target = (spec.get("target") or {}).get("name") or name
    return {(namespace, target): name}


@kopf.daemon(GROUP, VERSION, PLURAL, id="sync", cancellation_timeout=30)
async def keep_in_sync(
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    memo: Any,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    **_: Any,
) -> None:
    await SyncLoop(memo["runtime"], body, logger).run(stopped)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def envpayload_changed(
    namespace: str | None, name: str, meta: kopf.Meta, status: kopf.Status, memo: Any, **_: Any
) -> None:
    # Our own status writes come back as events too; only a new generation is news.
    if meta.get("generation") != status.get("observedGeneration"):
        memo["runtime"].wakeups.wake(namespace or "", name, "spec changed", newer=True)


@kopf.on.event("", "v1", "secrets")
async def secret_changed(
    namespace: str | None, name: str, meta: kopf.Meta, memo: Any, **kwargs: Any
) -> None:
    # Kopf passes its indexes as keyword arguments named after the index functions.
    readers: kopf.Index[Any, str] = kwargs["source_secrets"]
    writers: kopf.Index[Any, str] = kwargs["target_secrets"]
    wakeups = memo["runtime"].wakeups
    key = (namespace or "", name)
    # The version a source Secret now has: a rollout in progress gives way to it.
    version = source_version(str(meta.get("resourceVersion")))
    for reader in readers.get(key, ()):
        wakeups.wake(key[0], reader, f"source Secret {name} changed", version=version)
    for writer in writers.get(key, ()):
        wakeups.wake(key[0], writer, f"target Secret {name} changed")
