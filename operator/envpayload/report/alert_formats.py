"""The bodies of alert messages: Slack, Microsoft Teams, or a generic JSON document.

``ENVPAYLOAD_ALERT_FORMAT`` picks one; ``auto`` picks by the webhook's host, since Slack
and Teams each accept only their own shape. All three carry the same facts: the
EnvPayload, the reason, a summary, the details (from error messages, which name lines
and keys, never values), key names and the cluster.

The generic format is a stable, documented schema (``docs/observability.md``) for
receivers that route alerts on: Alertmanager-style relays, PagerDuty or Opsgenie
integrations, chat bridges, or a script.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from envpayload.conventions import format_time
from envpayload.report.alerts import Alert

GENERIC_SCHEMA: Final = "envpayload.io/alert/v1"

Body = dict[str, Any]

_SLACK_HOSTS: Final = ("hooks.slack.com", "hooks.slack-gov.com")
# Teams: Office 365 connector webhooks, and the Power Automate workflows replacing them.
_TEAMS_HOST_SUFFIXES: Final = (
    ".webhook.office.com",
    "outlook.office.com",
    ".logic.azure.com",
    ".powerplatform.com",
)

_EMOJI: Final = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "resolved": ":white_check_mark:",
}
_TEAMS_COLOUR: Final = {"critical": "Attention", "warning": "Warning", "resolved": "Good"}


def choose_format(setting: str, url: str) -> str:
    """The format to send to ``url``: the setting, or for ``auto`` the one its host takes."""
    if setting != "auto":
        return setting
    host = (urlsplit(url).hostname or "").lower()
    if host in _SLACK_HOSTS:
        return "slack"
    if host.endswith(_TEAMS_HOST_SUFFIXES):
        return "teams"
    return "generic"


def render(alert: Alert, format: str, cluster: str = "") -> Body:
    """The JSON body of ``alert`` in ``format`` (slack, teams or generic)."""
    renderers: dict[str, Callable[[Alert, str], Body]] = {
        "slack": slack,
        "teams": teams,
        "generic": generic,
    }
    return renderers[format](alert, cluster)


def generic(alert: Alert, cluster: str = "") -> Body:
    """The documented JSON schema ``envpayload.io/alert/v1``."""
    return {
        "schema": GENERIC_SCHEMA,
        "kind": str(alert.kind),
        "severity": alert.severity,
        "cluster": cluster,
        "namespace": alert.namespace,
        "name": alert.name,
        "reason": alert.reason,
        "summary": alert.summary,
        "details": alert.details,
        "keys": list(alert.keys),
        "facts": dict(alert.facts),
        "time": format_time(alert.time),
    }


def slack(alert: Alert, cluster: str = "") -> Body:
    """A Slack incoming-webhook message: ``text`` for notifications, ``blocks`` to read."""
    context = [f"*Reason:* {_slack_escape(alert.reason)}"]
    if alert.keys:
        context.append(f"*Keys:* {_slack_escape(', '.join(alert.keys))}")
    context += [f"*{_slack_escape(k)}:* {_slack_escape(v)}" for k, v in alert.facts]
    if cluster:
        context.append(f"*Cluster:* {_slack_escape(cluster)}")
    context.append(format_time(alert.time))

    return {
        "text": f"{_EMOJI[alert.severity]} {_slack_escape(alert.summary)}",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{_EMOJI[alert.severity]} *{_slack_escape(alert.summary)}*\n"
                    f"{_slack_escape(alert.details)}",
                },
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": " · ".join(context)}],
            },
        ],
    }


def teams(alert: Alert, cluster: str = "") -> Body:
    """A Teams message carrying an Adaptive Card, as Teams webhooks and workflows take it."""
    facts = [
        {"title": "EnvPayload", "value": alert.subject},
        {"title": "Reason", "value": alert.reason},
    ]
    if alert.keys:
        facts.append({"title": "Keys", "value": ", ".join(alert.keys)})
    facts += [{"title": k, "value": v} for k, v in alert.facts]
    if cluster:
        facts.append({"title": "Cluster", "value": cluster})
    facts.append({"title": "Time", "value": format_time(alert.time)})

    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {
                "type": "TextBlock",
                "text": alert.summary,
                "weight": "Bolder",
                "size": "Medium",
                "color": _TEAMS_COLOUR[alert.severity],
                "wrap": True,
            },
            {"type": "TextBlock", "text": alert.details, "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
    }
    return {
        "type": "message",
        "summary": alert.summary,
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _slack_escape(text: str) -> str:
    """Slack's three control characters; anything else shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
