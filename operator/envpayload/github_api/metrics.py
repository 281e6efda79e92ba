"""Prometheus metrics about GitHub: rate limit left, requests by result, webhook deliveries.

The client and the webhook record facts through the small :class:`GitHubMetrics`
protocol, so they do not depend on where the series live: the operator passes its one
registry (``report.metrics.METRICS``); the command line records nothing.

Every label has a bounded set of values: results are the fixed words below, ``host`` is
the host of an API base URL, ``credentials`` names a credentials Secret
(``namespace/name``) or ``anonymous``. Nothing here carries a token, a path or a value.
"""

from __future__ import annotations

from typing import Final, Protocol

# Results of one HTTP request to GitHub.
OK: Final = "ok"
NOT_MODIFIED: Final = "not_modified"
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


class GitHubMetrics(Protocol):
    """What the GitHub client and webhook report; implementations must never raise."""

    def github_request(self, result: str) -> None: ...

    def github_rate_limit_remaining(self, host: str, credentials: str, remaining: int) -> None: ...

    def github_rate_limit_reset(self, host: str, credentials: str, reset: float) -> None: ...

    def github_webhook(self, result: str) -> None: ...


class NoMetrics:
    """Records nothing: for the command line, which serves no metrics."""

    def github_request(self, result: str) -> None:
        pass

    def github_rate_limit_remaining(self, host: str, credentials: str, remaining: int) -> None:
        pass

    def github_rate_limit_reset(self, host: str, credentials: str, reset: float) -> None:
        pass

    def github_webhook(self, result: str) -> None:
        pass


NO_METRICS: Final = NoMetrics()


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
