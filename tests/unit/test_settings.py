"""The operator's settings: parsed once, every bad value named by its variable, documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from envpayload.settings import Settings, SettingsError, describe_settings, settings_markdown

REPO = Path(__file__).resolve().parents[2]
SLACK = "https://hooks.slack.com/services/T000/B000/secret-token-path"


def test_every_setting_has_a_default_when_the_environment_is_empty() -> None:
    settings = Settings.from_environ({})

    assert settings == Settings()
    assert settings.alert_webhook == ""
    assert settings.alert_threshold_seconds == 300.0
    assert settings.metrics_port == 9090


def test_values_are_read_and_converted_from_the_environment() -> None:
    settings = Settings.from_environ(
        {
            "OPERATIONS_ALERT_WEBHOOK": SLACK,
            "SCHEDULER_ALERT_THRESHOLD_SECONDS": "12.5",
            "ENVPAYLOAD_ALERT_MAX_ATTEMPTS": " 3 ",
            "ENVPAYLOAD_LOG_FORMAT": "json",
            "ENVPAYLOAD_METRICS_PORT": "0",
        }
    )

    assert settings.alert_webhook == SLACK
    assert settings.alert_threshold_seconds == 12.5
    assert settings.alert_max_attempts == 3
    assert settings.log_format == "json"
    assert settings.metrics_port == 0


def test_an_empty_variable_means_the_default() -> None:
    assert Settings.from_environ({"ENVPAYLOAD_METRICS_PORT": "  "}).metrics_port == 9090


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("ENVPAYLOAD_SYNC_WORKERS", "many", "ENVPAYLOAD_SYNC_WORKERS must be a whole number"),
        ("ENVPAYLOAD_SYNC_WORKERS", "1.5", "ENVPAYLOAD_SYNC_WORKERS must be a whole number"),
        ("SCHEDULER_ALERT_THRESHOLD_SECONDS", "5m", "must be a number, not '5m'"),
        ("SCHEDULER_ALERT_THRESHOLD_SECONDS", "nan", "must be a finite number"),
        ("SCHEDULER_ALERT_THRESHOLD_SECONDS", "-1", "must be at least 0, not '-1'"),
        ("ENVPAYLOAD_SYNC_WORKERS", "0", "ENVPAYLOAD_SYNC_WORKERS must be at least 1"),
        ("ENVPAYLOAD_METRICS_PORT", "70000", "ENVPAYLOAD_METRICS_PORT must be at most 65535"),
        ("ENVPAYLOAD_ALERT_MAX_ATTEMPTS", "50", "ENVPAYLOAD_ALERT_MAX_ATTEMPTS must be at most 20"),
        ("ENVPAYLOAD_ALERT_TIMEOUT_SECONDS", "0", "must be at least 0.1"),
        ("ENVPAYLOAD_ALERT_QUEUE_SIZE", "0", "ENVPAYLOAD_ALERT_QUEUE_SIZE must be at least 1"),
        ("ENVPAYLOAD_ALERT_BACKOFF_MAX_SECONDS", "1e9", "must be at most 3600"),
        ("ENVPAYLOAD_LOG_FORMAT", "xml", "ENVPAYLOAD_LOG_FORMAT must be one of text, json"),
        ("ENVPAYLOAD_ALERT_FORMAT", "pager", "must be one of auto, slack, teams, generic"),
        ("OPERATIONS_ALERT_WEBHOOK", "hooks.slack.com/x", "OPERATIONS_ALERT_WEBHOOK must be an"),
        ("OPERATIONS_ALERT_WEBHOOK", "ftp://example.com/x", "must be an http(s) URL"),
    ],
)
def test_a_bad_value_is_refused_with_a_message_naming_the_variable(
    variable: str, raw: str, message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({variable: raw})

    assert message in str(caught.value)
    assert variable in str(caught.value)


def test_a_bad_webhook_url_is_not_quoted_in_the_message() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({"OPERATIONS_ALERT_WEBHOOK": "token-abc123"})

    assert "token-abc123" not in str(caught.value)


def test_the_webhook_url_never_shows_in_a_repr() -> None:
    settings = Settings.from_environ({"OPERATIONS_ALERT_WEBHOOK": SLACK})

    assert "secret-token-path" not in repr(settings)
    assert "<redacted>" in repr(settings)


def test_a_settings_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "operator.env"
    path.write_text(f"OPERATIONS_ALERT_WEBHOOK={SLACK}\nSCHEDULER_ALERT_THRESHOLD_SECONDS=60\n")

    settings = Settings.from_environ({"SCHEDULER_ALERT_THRESHOLD_SECONDS": "30"}, path)

    assert settings.alert_webhook == SLACK
    assert settings.alert_threshold_seconds == 30


def test_a_missing_settings_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"operator\.env cannot be read"):
        Settings.from_environ({}, tmp_path / "operator.env")


def test_a_settings_file_that_does_not_parse_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "operator.env"
    path.write_text("ENVPAYLOAD_LOG_FORMAT=json\nnot a statement\n")

    with pytest.raises(SettingsError, match=r"operator\.env is not valid: line 2"):
        Settings.from_environ({}, path)


def test_every_setting_is_documented_with_its_variable() -> None:
    described = {variable: doc for variable, _, doc in describe_settings()}

    assert len(described) == len(dataclasses.fields(Settings))
    assert all(doc.strip() for doc in described.values())
    assert "OPERATIONS_ALERT_WEBHOOK" in described
    assert "Accepted: 0 to 65535" in described["ENVPAYLOAD_METRICS_PORT"]


def test_docs_settings_md_is_generated_from_the_settings() -> None:
    current = (REPO / "docs/settings.md").read_text()

    assert current == settings_markdown(), (
        "docs/settings.md is stale; regenerate it with "
        "`.venv/bin/python -m envpayload.devtools.settings_doc > docs/settings.md`"
    )
