"""Reading an EnvPayload's spec applies every default once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from envpayload.spec import (
    GitHubSource,
    InlineSource,
    SecretRefSource,
    SpecError,
    parse_duration,
    read_spec,
)


def test_defaults_fill_an_almost_empty_spec() -> None:
    spec = read_spec("app", {"source": {"secretRef": {"name": "app-env"}}})
    assert spec.source == SecretRefSource(name="app-env", key=".env")
    assert (spec.target.name, spec.target.deletion_policy, spec.target.adopt) == (
        "app",
        "Delete",
        False,
    )
    assert spec.refresh_interval == timedelta(minutes=5)
    assert spec.rotation_max_age == timedelta(days=90)
    assert (spec.rollout.mode, spec.rollout.strategy) == ("Auto", "Parallel")
    assert spec.validation.allow_empty is True


@pytest.mark.parametrize(
    ("name", "spec", "writes_its_source"),
    [
        ("app", {"source": {"secretRef": {"name": "app"}}}, True),
        ("x", {"source": {"secretRef": {"name": "env"}}, "target": {"name": "env"}}, True),
        ("app", {"source": {"secretRef": {"name": "app"}}, "target": {"name": "app-env"}}, False),
        ("app", {"source": {"inline": {"sealed": "esv1.x"}}}, False),
    ],
)
def test_a_target_that_is_the_source_secret_is_recognised(
    name: str, spec: dict[str, Any], writes_its_source: bool
) -> None:
    assert read_spec(name, spec).writes_its_source is writes_its_source


def test_each_source_kind_is_read() -> None:
    inline = read_spec("a", {"source": {"inline": {"sealed": "esv1.x"}}})
    github = read_spec(
        "a",
        {
            "source": {
                "github": {
                    "repository": "o/r",
                    "path": ".env.sealed",
                    "credentialsSecretRef": {"name": "gh"},
                }
            }
        },
    )
    assert isinstance(inline.source, InlineSource)
    assert inline.source_kind == "inline"
    assert github.source == GitHubSource(
        repository="o/r", path=".env.sealed", credentials_secret="gh"
    )


def test_a_spec_naming_two_sources_is_refused() -> None:
    with pytest.raises(SpecError):
        read_spec("a", {"source": {"secretRef": {"name": "x"}, "inline": {"sealed": "esv1.x"}}})


def test_the_inline_envelope_is_not_in_the_repr() -> None:
    assert "esv1.secret-ish" not in repr(InlineSource(sealed="esv1.secret-ish"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("2d12h", timedelta(days=2, hours=12)),
    ],
)
def test_durations_read_like_kubernetes_durations_with_days(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m5", "1w", "1h 30m", "-5m"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(SpecError):
        parse_duration(text)
