"""Alert bodies for Slack, Microsoft Teams and generic receivers, and how one is chosen."""

from __future__ import annotations

import datetime
import json

import pytest

from envpayload.errors import ValidationError
from envpayload.report.alert_formats import GENERIC_SCHEMA, choose_format, render
from envpayload.report.alerts import Alert, AlertKind, AlertTracker, SyncResult

WHEN = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def failing_alert() -> Alert:
    tracker = AlertTracker(threshold_seconds=300, clock=lambda: WHEN)
    [alert] = tracker.observe(
        SyncResult(
            "shop",
            "app",
            {},
            0.2,
            error=ValidationError(["required key STRIPE_KEY is missing", "key A<B> is invalid"]),
        )
    )
    return alert


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.slack.com/services/T0/B0/xyz", "slack"),
        ("https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def", "teams"),
        ("https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers", "teams"),
        ("https://alerts.example.com/hooks/envpayload", "generic"),
        ("http://127.0.0.1:8765/alerts", "generic"),
    ],
)
def test_auto_chooses_the_format_by_the_webhook_host(url: str, expected: str) -> None:
    assert choose_format("auto", url) == expected


def test_an_explicit_format_wins_over_the_host() -> None:
    assert choose_format("generic", "https://hooks.slack.com/services/T0/B0/xyz") == "generic"


def test_the_generic_body_follows_its_documented_schema() -> None:
    body = render(failing_alert(), "generic", cluster="prod-eu")

    assert body == {
        "schema": GENERIC_SCHEMA,
        "kind": "Failing",
        "severity": "critical",
        "cluster": "prod-eu",
        "namespace": "shop",
        "name": "app",
        "reason": "ValidationFailed",
        "summary": "EnvPayload shop/app is failing: ValidationFailed",
        "details": "required key STRIPE_KEY is missing; key A<B> is invalid. The Secret keeps "
        "its last good content until this is fixed.",
        "keys": [],
        "facts": {"Retrying": "after a change"},
        "time": "2026-03-01T12:00:00Z",
    }
    json.dumps(body)  # serialisable as it is


def test_the_slack_body_has_a_notification_text_and_escaped_blocks() -> None:
    body = render(failing_alert(), "slack", cluster="prod-eu")

    assert body["text"] == ":rotating_light: EnvPayload shop/app is failing: ValidationFailed"
    section, context = body["blocks"]
    assert section["type"] == "section"
    assert "STRIPE_KEY" in section["text"]["text"]
    assert "A&lt;B&gt;" in section["text"]["text"]
    assert "<B>" not in json.dumps(body)
    assert "*Cluster:* prod-eu" in context["elements"][0]["text"]


def test_the_teams_body_is_a_message_with_an_adaptive_card() -> None:
    body = render(failing_alert(), "teams")

    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    title, details, facts = card["body"]
    assert title["color"] == "Attention"
    assert "STRIPE_KEY" in details["text"]
    assert {"title": "EnvPayload", "value": "shop/app"} in facts["facts"]
    assert {"title": "Reason", "value": "ValidationFailed"} in facts["facts"]


@pytest.mark.parametrize("format", ["slack", "teams", "generic"])
def test_every_format_carries_the_key_names_of_a_rotation_alert(format: str) -> None:
    tracker = AlertTracker(threshold_seconds=300, clock=lambda: WHEN)
    [alert] = tracker.observe(
        SyncResult(
            "shop",
            "app",
            {},
            0.2,
            keys=["DB_PASSWORD", "API_KEY"],
            last_change=WHEN - datetime.timedelta(days=120),
            rotation_max_age=datetime.timedelta(days=90),
        )
    )
    assert alert.kind is AlertKind.ROTATION_OVERDUE

    text = json.dumps(render(alert, format))

    assert "DB_PASSWORD, API_KEY" in text or '["DB_PASSWORD", "API_KEY"]' in text
    assert "120 days" in text
