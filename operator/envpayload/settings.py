"""The operator's settings: one typed object, read once at start from the environment.

Every setting is a field of :class:`Settings` with the variable that sets it and a line
of documentation, so the parsing, the error messages and the documentation table
(``envpayload run --help-settings``) all come from one place. A bad value stops the
operator at start with a message naming the variable, never later in a handler.

Variables can also come from a ``.env`` file (``--settings-file``), parsed strictly like
any payload; the process environment wins over the file.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from envpayload.errors import EnvPayloadError
from envpayload.parse import parse_bytes
from envpayload.payload import REDACTED

DEFAULT_OPERATOR_NAMESPACE: Final = "envpayload-system"


class SettingsError(ValueError):
    """A setting has a value the operator cannot use; the message names the variable."""


def _setting(env: str, default: Any, doc: str, **kwargs: Any) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc, **kwargs})


@dataclass(frozen=True)
class Settings:
    """Everything the operator reads from its environment."""

    operator_namespace: str = _setting(
        "ENVPAYLOAD_NAMESPACE",
        DEFAULT_OPERATOR_NAMESPACE,
        "Namespace of the operator's own objects: its keyring Secret and public keys.",
    )
    sync_workers: int = _setting(
        "ENVPAYLOAD_SYNC_WORKERS",
        8,
        "Syncs that may run at once (each in a thread: the API clients block).",
        minimum=1,
    )
    retry_max_seconds: float = _setting(
        "ENVPAYLOAD_RETRY_MAX_SECONDS",
        300.0,
        "Longest wait between retries of a failing sync (backoff doubles from 2s).",
        minimum=1,
    )
    sealing_key_rotation_days: float = _setting(
        "ENVPAYLOAD_SEALING_KEY_ROTATION_DAYS",
        30.0,
        "Age after which the operator generates a new sealing key (old ones keep opening).",
        minimum=0.0001,
    )
    sealing_key_retention_days: float = _setting(
        "ENVPAYLOAD_SEALING_KEY_RETENTION_DAYS",
        90.0,
        "Days a retired sealing key is kept at least; it then goes once nothing uses it. "
        "0 keeps retired keys forever.",
        minimum=0,
    )
    min_restart_interval_seconds: float = _setting(
        "ENVPAYLOAD_MIN_RESTART_INTERVAL_SECONDS",
        30.0,
        "A workload restarts at most once within this interval; changes in between coalesce.",
        minimum=0,
    )
    restart_coalesce_seconds: float = _setting(
        "ENVPAYLOAD_RESTART_COALESCE_SECONDS",
        2.0,
        "A restart waits this long for other EnvPayloads' changes to the same workload, "
        "so payloads rotated together restart it once.",
        minimum=0,
    )
    alert_webhook: str = _setting(
        "OPERATIONS_ALERT_WEBHOOK",
        "",
        "Slack, Microsoft Teams or generic webhook URL for alerts; empty disables alerts. "
        "A credential: it is never logged or shown.",
        url=True,
        secret=True,
    )
    alert_format: str = _setting(
        "ENVPAYLOAD_ALERT_FORMAT",
        "auto",
        "Alert body format: slack, teams, generic, or auto (chosen from the webhook's host).",
        choices=("auto", "slack", "teams", "generic"),
    )
    alert_threshold_seconds: float = _setting(
        "SCHEDULER_ALERT_THRESHOLD_SECONDS",
        300.0,
        "A sync or rollout that takes longer than this raises a slow-work alert; 0 disables.",
        minimum=0,
    )
    alert_timeout_seconds: float = _setting(
        "ENVPAYLOAD_ALERT_TIMEOUT_SECONDS",
        10.0,
        "How long one attempt to deliver an alert may take before it counts as failed.",
        minimum=0.1,
        maximum=300,
    )
    alert_max_attempts: int = _setting(
        "ENVPAYLOAD_ALERT_MAX_ATTEMPTS",
        5,
        "Attempts to deliver one alert before it is dropped (and counted as failed).",
        minimum=1,
        maximum=20,
    )
    alert_backoff_max_seconds: float = _setting(
        "ENVPAYLOAD_ALERT_BACKOFF_MAX_SECONDS",
        60.0,
        "Longest wait between delivery attempts (the wait doubles from 1s up to this).",
        minimum=0,
        maximum=3600,
    )
    alert_queue_size: int = _setting(
        "ENVPAYLOAD_ALERT_QUEUE_SIZE",
        100,
        "Alerts waiting for delivery at most; more are dropped (and counted) rather than "
        "held in memory while the webhook is down.",
        minimum=1,
        maximum=100000,
    )
    cluster_name: str = _setting(
        "ENVPAYLOAD_CLUSTER_NAME",
        "",
        "A name for this cluster in alerts, so several clusters can share one channel.",
    )
    metrics_port: int = _setting(
        "ENVPAYLOAD_METRICS_PORT",
        9090,
        "Port of the Prometheus metrics endpoint (/metrics); 0 disables it.",
        minimum=0,
        maximum=65535,
    )
    metrics_address: str = _setting(
        "ENVPAYLOAD_METRICS_ADDRESS",
        "0.0.0.0",  # noqa: S104 - in a pod, Prometheus scrapes from another host
        "Address the metrics endpoint listens on.",
    )
    github_webhook_secret: str = _setting(
        "ENVPAYLOAD_GITHUB_WEBHOOK_SECRET",
        "",
        "Secret of the GitHub push webhook (checked with X-Hub-Signature-256); setting it "
        "starts the webhook endpoint, POST /webhooks/github.",
        secret=True,
    )
    webhook_port: int = _setting(
        "ENVPAYLOAD_WEBHOOK_PORT",
        8081,
        "Port of the GitHub webhook endpoint (served only when its secret is set).",
        minimum=1,
    )
    webhook_address: str = _setting(
        "ENVPAYLOAD_WEBHOOK_ADDRESS",
        "0.0.0.0",  # noqa: S104 - in a pod, the Service's traffic arrives on the pod's address
        "Address the GitHub webhook endpoint listens on.",
    )
    github_timeout_seconds: float = _setting(
        "ENVPAYLOAD_GITHUB_TIMEOUT_SECONDS",
        10.0,
        "Longest wait for one answer from the GitHub API (connect and read).",
        minimum=1,
    )
    github_max_wait_seconds: float = _setting(
        "ENVPAYLOAD_GITHUB_MAX_WAIT_SECONDS",
        10.0,
        "Longest a sync waits for GitHub (Retry-After, a rate-limit reset, a retry after a "
        "server error); a longer wait ends the sync and the next one is scheduled after it.",
        minimum=0,
    )
    log_format: str = _setting(
        "ENVPAYLOAD_LOG_FORMAT",
        "text",
        "Log format: text, or json (one JSON object a line, for log collectors).",
        choices=("text", "json"),
    )

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, settings_file: Path | None = None
    ) -> Settings:
        """Read every setting; raise :class:`SettingsError` naming the first bad variable."""
        values: dict[str, str] = {}
        if settings_file is not None:
            values.update(_read_settings_file(settings_file))
        values.update(os.environ if environ is None else environ)

        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = values.get(f.metadata["env"])
            if raw is not None and raw.strip() != "":
                kwargs[f.name] = _convert(f, raw.strip())
        return cls(**kwargs)

    def __repr__(self) -> str:
        # The alert webhook URL is a credential (Slack's carries its token in the path), and
        # so is the GitHub webhook secret.
        shown = {
            f.name: (
                REDACTED
                if f.metadata.get("secret") and getattr(self, f.name)
                else getattr(self, f.name)
            )
            for f in dataclasses.fields(self)
        }
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting, for docs and ``--help``."""
    return [(f.metadata["env"], str(f.default), _describe(f)) for f in dataclasses.fields(Settings)]


def settings_markdown() -> str:
    """``docs/settings.md``: the table of every setting (a test keeps the file in step)."""
    lines = [
        "# Operator settings",
        "",
        "<!-- Generated from operator/envpayload/settings.py by",
        "     `python -m envpayload.devtools.settings_doc > docs/settings.md`; do not edit. -->",
        "",
        "`envpayload run` reads these once at start, from its environment and, with",
        "`--settings-file FILE`, from a `.env` file (the environment wins). A bad value stops",
        "the operator at once with a message naming the variable. `envpayload run",
        "--help-settings` prints the same list.",
        "",
        "| Variable | Default | Meaning |",
        "| --- | --- | --- |",
    ]
    for variable, default, doc in describe_settings():
        shown = f"`{default}`" if default else "empty"
        escaped = doc.replace("|", "\\|")
        lines.append(f"| `{variable}` | {shown} | {escaped} |")
    return "\n".join(lines) + "\n"


def _describe(f: dataclasses.Field[Any]) -> str:
    """The field's documentation, with the range it accepts."""
    low, high = f.metadata.get("minimum"), f.metadata.get("maximum")
    if low is not None and high is not None:
        return f"{f.metadata['doc']} Accepted: {low} to {high}."
    if low is not None:
        return f"{f.metadata['doc']} Accepted: {low} or more."
    return str(f.metadata["doc"])


def _convert(f: dataclasses.Field[Any], raw: str) -> Any:
    env = f.metadata["env"]
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    # A credential is never quoted back, whatever is wrong with it.
    shown = REDACTED if f.metadata.get("secret") else repr(raw)
    try:
        value: Any = {"int": int, "float": float, "str": str}[kind](raw)
    except ValueError:
        what = "a whole number" if kind == "int" else "a number"
        raise SettingsError(f"{env} must be {what}, not {shown}") from None
    if kind == "float" and not math.isfinite(value):
        raise SettingsError(f"{env} must be a finite number, not {shown}")

    if "minimum" in f.metadata and value < f.metadata["minimum"]:
        raise SettingsError(f"{env} must be at least {f.metadata['minimum']}, not {shown}")
    if "maximum" in f.metadata and value > f.metadata["maximum"]:
        raise SettingsError(f"{env} must be at most {f.metadata['maximum']}, not {shown}")
    if "choices" in f.metadata and value not in f.metadata["choices"]:
        raise SettingsError(f"{env} must be one of {', '.join(f.metadata['choices'])}, not {shown}")
    if f.metadata.get("url"):
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            # Not quoted: the value is a credential.
            raise SettingsError(f"{env} must be an http(s) URL")
    return value


def _read_settings_file(path: Path) -> dict[str, str]:
    try:
        payload = parse_bytes(path.read_bytes())
    except OSError as e:
        raise SettingsError(f"the settings file {path} cannot be read: {e.strerror}") from None
    except EnvPayloadError as e:
        raise SettingsError(f"the settings file {path} is not valid: {e}") from None
    return {key: value.reveal() for key, value in payload.items()}
