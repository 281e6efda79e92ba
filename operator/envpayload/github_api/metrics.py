"""Prometheus metrics about GitHub: rate limit left, requests made, webhook deliveries.

Registered in prometheus-client's default registry, so whatever serves ``/metrics`` for
the operator serves these too. Every label has a bounded set of values: results are the
fixed words below, ``api`` is the host of an API base URL, ``credentials`` names a
credentials Secret (``namespace/name``) or ``anonymous``. Nothing here carries a token,
a path or a payload value.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge

# Results of one request to a source.
NOT_MODIFIED: Final = "not_modified"
OK: Final = "ok"
UNAUTHORIZED: Final = "unauthorized"
FORBIDDEN: Final = "forbidden"
NOT_FOUND: Final = "not_found"
RATE_LIMITED: Final = "rate_limited"
SERVER_ERROR: Final = "server_error"
NETWORK_ERROR: Final = "network_error"
OTHER: Final = "other"

# Results of one webhook delivery.
WEBHOOK_ACCEPTED: Final = "accepted"
WEBHOOK_IGNORED: Final = "ignored"
WEBHOOK_UNSIGNED: Final = "unsigned"
WEBHOOK_BAD_SIGNATURE: Final = "bad_signature"
WEBHOOK_BAD_REQUEST: Final = "bad_request"

RATE_LIMIT_REMAINING = Gauge(
    "envpayload_github_rate_limit_remaining",
    "Requests left in GitHub's current rate-limit window, as its last answer said.",
    ["api", "credentials", "resource"],
)
RATE_LIMIT_RESET = Gauge(
    "envpayload_github_rate_limit_reset_timestamp_seconds",
    "When GitHub's current rate-limit window ends (Unix time).",
    ["api", "credentials", "resource"],
)
SOURCE_REQUESTS = Counter(
    "envpayload_source_requests_total",
    "Requests made to payload sources, by source kind and result.",
    ["source", "result"],
)
WEBHOOK_REQUESTS = Counter(
    "envpayload_github_webhook_requests_total",
    "GitHub webhook deliveries received, by result (unsigned and bad_signature are refused).",
    ["result"],
)


def request_result(status: int, rate_limited: bool = False) -> str:
    """The result label for an HTTP answer."""
    if rate_limited:
        return RATE_LIMITED
    if status == 304:
        return NOT_MODIFIED
    if 200 <= status < 300:
        return OK
    return {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND}.get(
        status, SERVER_ERROR if status >= 500 else OTHER
    )
