"""How long GitHub asks us to wait before the next request: pure functions of its answer.

GitHub has two kinds of limits and says so in its headers
(docs.github.com, "Rate limits for the REST API"):

- the primary rate limit: ``x-ratelimit-remaining`` reaches 0, requests are answered 403
  or 429 until ``x-ratelimit-reset`` (epoch seconds);
- secondary rate limits (too many requests at once or too fast): 403 or 429, with
  ``Retry-After`` (seconds) when GitHub knows how long, and otherwise "wait at least a
  minute".

A 403 that is none of these is a permission problem and must not be retried. Server
errors (5xx) are worth one quick retry. Every wait is capped by the caller: the operator
never waits longer than it was configured to inside one sync.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

# GitHub's advice for a secondary limit that names no wait.
SECONDARY_LIMIT_WAIT: Final = 60.0
# Backoff after a server error or a broken connection, doubling per attempt.
SERVER_ERROR_BACKOFF: Final = 0.5


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit headers of one answer."""

    limit: int
    remaining: int
    reset: float
    resource: str


def read_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """The rate limit an answer reports, or None when it has no such headers.

    ``headers`` must have lower-case names (PyGithub's requester lowers them).
    """
    try:
        return RateLimit(
            limit=int(float(headers["x-ratelimit-limit"])),
            remaining=int(float(headers["x-ratelimit-remaining"])),
            reset=float(headers.get("x-ratelimit-reset") or 0),
            resource=headers.get("x-ratelimit-resource") or "core",
        )
    except (KeyError, ValueError):
        return None


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds, or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def rate_limit_wait(
    status: int, headers: Mapping[str, str], message: str, now: float
) -> float | None:
    """Seconds GitHub asks us to wait, or None when the answer is not a rate limit.

    ``now`` is the wall clock (epoch seconds), since ``x-ratelimit-reset`` is one.
    """
    if status not in (403, 429):
        return None

    asked = retry_after(headers.get("retry-after"), now)
    if asked is not None:
        return asked

    limit = read_rate_limit(headers)
    if limit is not None and limit.remaining == 0:
        # One second more: the reset is rounded down to the second.
        return max(limit.reset - now, 0.0) + 1.0

    text = message.lower()
    if status == 429 or "rate limit" in text:
        return SECONDARY_LIMIT_WAIT
    return None


def server_error_backoff(attempt: int) -> float:
    """Seconds before retrying attempt number ``attempt`` (from 1) after a 5xx."""
    return float(SERVER_ERROR_BACKOFF * 2 ** (attempt - 1))
