"""How long GitHub asks us to wait, read from its headers (pure functions)."""

from __future__ import annotations

import email.utils

import pytest

from envpayload.github_api.limits import (
    SECONDARY_LIMIT_WAIT,
    rate_limit_wait,
    read_rate_limit,
    retry_after,
    server_error_backoff,
)

NOW = 1_800_000_000.0


def limit_headers(remaining: int, reset_in: float) -> dict[str, str]:
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(NOW + reset_in)),
        "x-ratelimit-resource": "core",
    }


def test_rate_limit_headers_are_read() -> None:
    limit = read_rate_limit(limit_headers(4321, 60))

    assert limit is not None
    assert (limit.limit, limit.remaining, limit.reset, limit.resource) == (
        5000,
        4321,
        NOW + 60,
        "core",
    )


def test_an_answer_without_rate_limit_headers_has_no_rate_limit() -> None:
    assert read_rate_limit({"content-type": "text/plain"}) is None


def test_an_exhausted_primary_limit_waits_until_the_reset_and_a_second() -> None:
    wait = rate_limit_wait(403, limit_headers(0, 120), "API rate limit exceeded for 1.2.3.4", NOW)

    assert wait == 121


def test_retry_after_wins_over_everything_else() -> None:
    headers = {**limit_headers(0, 3000), "retry-after": "7"}

    assert rate_limit_wait(429, headers, "", NOW) == 7


def test_retry_after_may_be_an_http_date() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)

    assert retry_after(date, NOW) == pytest.approx(30)


def test_a_secondary_limit_without_retry_after_waits_a_minute() -> None:
    message = "You have exceeded a secondary rate limit. Please wait a few minutes."

    assert rate_limit_wait(403, limit_headers(4000, 60), message, NOW) == SECONDARY_LIMIT_WAIT
    assert rate_limit_wait(429, {}, "", NOW) == SECONDARY_LIMIT_WAIT


def test_a_403_that_is_no_rate_limit_is_not_a_wait() -> None:
    message = "Resource not accessible by personal access token"

    assert rate_limit_wait(403, limit_headers(4000, 60), message, NOW) is None


@pytest.mark.parametrize("status", [200, 304, 401, 404, 500, 502])
def test_other_statuses_are_not_rate_limits(status: int) -> None:
    assert rate_limit_wait(status, limit_headers(0, 60), "", NOW) is None


def test_server_error_backoff_doubles() -> None:
    assert [server_error_backoff(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
