"""``envpayload run``: the operator itself.

Like ``kopf run``, it watches either every namespace (``--all-namespaces``) or the ones
named with ``--namespace``. Settings come from the environment (see
``--help-settings``); the cluster from ``KUBECONFIG`` or the in-cluster account.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import kopf

from envpayload.cli.common import USAGE_ERROR, fail, help_text, quiet_chatty_loggers
from envpayload.controller import handlers  # noqa: F401 - importing registers the Kopf handlers
from envpayload.controller.keys import KeyUpkeep
from envpayload.controller.observers import AlertObserver, CountingFetcher, MetricsObserver
from envpayload.controller.peering import PeeringError, ensure_peering
from envpayload.controller.runtime import Runtime
from envpayload.controller.worker import Wakeups
from envpayload.errors import EnvPayloadError
from envpayload.fetch import Fetcher
from envpayload.fetch.github import (
    ClientFactory,
    GitHubFetcher,
    KubeCredentialsReader,
    SecretVersions,
)
from envpayload.fetch.inline import InlineFetcher
from envpayload.fetch.secret_ref import SecretRefFetcher
from envpayload.github_api.client import GitHubClient
from envpayload.github_api.credentials import Credentials
from envpayload.keyring import KeyringStore
from envpayload.kube import Clients, new_api_client
from envpayload.publickeys import PublicKeys
from envpayload.reconcile import Reconciler
from envpayload.report.alert_formats import choose_format
from envpayload.report.alerts import AlertTracker
from envpayload.report.metrics import METRICS
from envpayload.report.metrics_endpoint import MetricsEndpoint
from envpayload.report.webhook import Delivery, WebhookSender
from envpayload.rollout.cluster import WorkloadApi
from envpayload.rollout.coordinator import RestartCoordinator
from envpayload.rollout.planner import RolloutPlanner
from envpayload.rollout.runner import RolloutRunner
from envpayload.settings import Settings, SettingsError, describe_settings

logger = logging.getLogger(__name__)


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "run",
        help="run the operator",
        description=help_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch this namespace (repeatable)",
    )
    parser.add_argument(
        "--settings-file", type=Path, help="a .env file of settings (the environment wins)"
    )
    parser.add_argument(
        "--liveness",
        default="http://0.0.0.0:8080/healthz",
        metavar="URL",
        help="liveness endpoint (default: %(default)s)",
    )
    parser.add_argument(
        "--peering",
        metavar="NAME",
        help="run with Kopf peering under this name (hot standby); standalone otherwise",
    )
    parser.add_argument(
        "--priority",
        type=int,
        default=0,
        help="peering priority: the highest runs, the others wait",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log at DEBUG level (values are never logged)"
    )
    parser.add_argument(
        "--help-settings",
        action="store_true",
        help="list the settings read from the environment and exit",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.help_settings:
        for variable, default, doc in describe_settings():
            print(f"{variable}  (default: {default or 'empty'})\n    {doc}")
        return 0
    if not args.all_namespaces and not args.namespace:
        fail("say which namespaces to watch: --all-namespaces or --namespace NS", USAGE_ERROR)
    try:
        settings = Settings.from_environ(settings_file=args.settings_file)
    except SettingsError as e:
        fail(str(e), USAGE_ERROR)

    # log_prefix=None: text lines about an EnvPayload start with its "[namespace/name]"
    # (kopf.configure leaves it out by default); JSON lines carry it as "object".
    kopf.configure(
        verbose=args.verbose,
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL,
        log_prefix=None,
    )
    quiet_chatty_loggers()
    logging.getLogger("kopf.objects").addFilter(_drop_routine_successes)

    try:
        runtime = build_runtime(settings)
    except EnvPayloadError as e:
        fail(f"the operator cannot start: {e}")
    if args.peering is not None:
        try:
            ensure_peering(
                runtime.clients.custom,
                args.peering,
                None if args.all_namespaces else args.namespace,
            )
        except PeeringError as e:
            fail(str(e))
    logger.info(
        "Starting envpayload operator; %s",
        "all namespaces" if args.all_namespaces else f"namespaces {', '.join(args.namespace)}",
    )
    asyncio.run(
        kopf.operator(
            settings=kopf_settings(clusterwide=args.all_namespaces),
            clusterwide=args.all_namespaces,
            namespaces=args.namespace,
            standalone=args.peering is None,
            peering_name=args.peering,
            priority=args.priority,
            liveness_endpoint=args.liveness or None,
            memo=kopf.Memo(runtime=runtime),
        )
    )
    return 0


# Kopf reports every successful handler call at INFO. For the watch on Secrets and the
# indexes that is one line per Secret change in the cluster, which drowns what matters.
_ROUTINE = ("Handler 'secret_changed' succeeded", "Handler 'envpayload_changed' succeeded")


def _drop_routine_successes(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    routine = message.startswith(_ROUTINE) or (
        message.startswith("Indexer '") and message.endswith("succeeded.")
    )
    return not (record.levelno == logging.INFO and routine)


def kopf_settings(*, clusterwide: bool) -> kopf.OperatorSettings:
    """Kopf's settings that depend on the command line (the rest: handlers.configure)."""
    settings = kopf.OperatorSettings()
    # Serving listed namespaces needs no cluster-wide permission at all (the Helm chart
    # grants Roles only): tell Kopf not to list namespaces or watch CRDs, rather than let
    # it try, be refused, and warn. The CRD must then exist before the operator starts.
    settings.scanning.disabled = not clusterwide
    return settings


def build_runtime(settings: Settings) -> Runtime:
    """Everything the handlers share; the keyring is made ready here, before Kopf starts."""
    clients = Clients(new_api_client())

    # The first upkeep pass creates the keyring (or rotates a key that fell due while the
    # operator was down) and publishes the public keys, so `envpayload seal` works as
    # soon as the operator is up.
    executor = ThreadPoolExecutor(settings.sync_workers, thread_name_prefix="sync")
    namespace = settings.operator_namespace
    keyring = KeyringStore(clients.core, namespace)
    keys = KeyUpkeep(
        keyring,
        PublicKeys(clients.core, namespace),
        clients.custom,
        settings,
        executor,
    )
    keys.run_once()

    versions = SecretVersions()
    github_fetcher = GitHubFetcher(
        KubeCredentialsReader(clients.core), github_clients(settings), versions=versions
    )
    fetchers: dict[str, Fetcher] = {
        "secretRef": SecretRefFetcher(clients.core),
        "inline": InlineFetcher(),
        "github": github_fetcher,
    }
    workloads = WorkloadApi(clients.apps)
    reconciler = Reconciler(
        clients.core,
        fetchers={kind: CountingFetcher(kind, f, METRICS) for kind, f in fetchers.items()},
        opener=keys.opener,
        # Restart markers use one fingerprint key, read once: it never changes.
        rollouts=RolloutPlanner(workloads, keyring.fingerprinter()),
    )
    coordinator = RestartCoordinator(
        workloads.patch,
        executor,
        coalesce_seconds=settings.restart_coalesce_seconds,
        min_interval_seconds=settings.min_restart_interval_seconds,
    )
    runtime = Runtime(
        settings=settings,
        clients=clients,
        reconciler=reconciler,
        wakeups=Wakeups(),
        executor=executor,
        services=[keys],
        rollouts=RolloutRunner(workloads, coordinator, executor),
        secret_versions=versions,
    )
    add_reporting(runtime, settings)
    return runtime


def github_clients(settings: Settings) -> ClientFactory:
    """Makes GitHub clients bounded by the operator's settings."""

    def new(base_url: str, credentials: Credentials | None, label: str) -> GitHubClient:
        return GitHubClient(
            base_url,
            credentials,
            timeout=settings.github_timeout_seconds,
            max_wait=settings.github_max_wait_seconds,
            label=label,
            metrics=METRICS,
        )

    return new


def add_reporting(runtime: Runtime, settings: Settings) -> None:
    """Metrics always (served when a port is set), alerts when a webhook is set."""
    runtime.observers.append(MetricsObserver(METRICS))
    if settings.metrics_port:
        runtime.services.append(
            MetricsEndpoint(METRICS, settings.metrics_address, settings.metrics_port)
        )

    if not settings.alert_webhook:
        logger.info("No OPERATIONS_ALERT_WEBHOOK: alerts are off")
        return
    sender = WebhookSender(
        Delivery(
            url=settings.alert_webhook,
            format=choose_format(settings.alert_format, settings.alert_webhook),
            cluster=settings.cluster_name,
            timeout_seconds=settings.alert_timeout_seconds,
            max_attempts=settings.alert_max_attempts,
            backoff_max_seconds=settings.alert_backoff_max_seconds,
            queue_size=settings.alert_queue_size,
        ),
        METRICS,
    )
    runtime.services.append(sender)
    runtime.observers.append(
        AlertObserver(AlertTracker(threshold_seconds=settings.alert_threshold_seconds), sender)
    )
