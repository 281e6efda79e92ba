"""A GitHub API client for one set of credentials: bounded, polite, and clear when it fails.

PyGithub's requester does the HTTP and the authentication. Around it this module adds:

- conditional requests for raw file contents (``Accept: application/vnd.github.raw+json``
  with ``If-None-Match``): an unchanged file is answered 304, which GitHub does not count
  against the primary rate limit;
- GitHub's own retry rules (:mod:`envpayload.github_api.limits`) with every wait capped
  by ``max_wait``; a longer wait ends the call with :class:`RateLimitedError`, and the
  client then refuses to ask again before GitHub said it would answer (a "cool-down"
  shared by every EnvPayload using the same credentials);
- each failure mapped to an :mod:`envpayload.errors` error whose message names what was
  asked, the HTTP status and GitHub's reason, never a token or file content.

PyGithub's own retry (it sleeps in the calling thread, up to an hour on a rate limit) is
switched off: this module decides. Its calls block, so the operator makes them in worker
threads, never on the event loop.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import requests
from github import Github, GithubException
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from envpayload import __version__
from envpayload.errors import (
    PayloadError,
    RateLimitedError,
    SourceError,
    SourceForbiddenError,
    SourceNotFoundError,
)
from envpayload.github_api import metrics
from envpayload.github_api.credentials import Credentials
from envpayload.github_api.limits import rate_limit_wait, read_rate_limit, server_error_backoff
from envpayload.github_api.metrics import NO_METRICS, GitHubMetrics

DEFAULT_BASE_URL: Final = "https://api.github.com"
RAW: Final = "application/vnd.github.raw+json"
JSON: Final = "application/vnd.github+json"
USER_AGENT: Final = f"envpayload-operator/{__version__}"
# One request and two retries, for server errors, broken connections and short waits.
ATTEMPTS: Final = 3
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_MESSAGE: Final = 200

T = TypeVar("T")


@dataclass(frozen=True)
class RawFile:
    """A file's bytes as GitHub holds them, and the ETag to ask "has it changed?" with."""

    content: bytes = field(repr=False)
    etag: str | None


def api_base_url(base_url: str) -> str:
    """The API base URL to use: github.com's when empty; https unless on loopback.

    A token sent over plain http can be read on the way, so http is refused except for a
    server on this machine (a local GitHub for tests).
    """
    url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise SourceError(
        f"the GitHub API URL {url} must use https (plain http only for a loopback address)"
    )


class GitHubClient:
    """One set of credentials (or none, for public repositories) against one GitHub API.

    Thread-safe: the operator shares one client between every EnvPayload that uses the
    same credentials Secret, so they also share its rate-limit cool-down.
    """

    def __init__(
        self,
        base_url: str = "",
        credentials: Credentials | None = None,
        *,
        timeout: float = 10.0,
        max_wait: float = 10.0,
        label: str = "anonymous",
        metrics: GitHubMetrics = NO_METRICS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = api_base_url(base_url)
        self.api = urllib.parse.urlsplit(self.base_url).netloc
        self._label = label
        self._metrics = metrics
        self._max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.github = Github(
            auth=credentials.auth() if credentials is not None else None,
            base_url=self.base_url,
            timeout=max(1, round(timeout)),
            user_agent=USER_AGENT,
            # No retries inside PyGithub or urllib3: _send decides, within max_wait.
            retry=0,
            # PyGithub's default spacing, kept explicitly: GitHub asks for serial requests.
            seconds_between_requests=0.25,
            seconds_between_writes=1.0,
            lazy=True,
        )

    def get_raw(self, repository: str, path: str, ref: str, etag: str | None) -> RawFile | None:
        """The file's raw bytes, or None when it has not changed since ``etag``."""
        what = describe_file(repository, path, ref)
        url = f"/repos/{_quote(repository)}/contents/{_quote(path.strip('/'))}"
        headers = {"Accept": RAW}
        if etag:
            headers["If-None-Match"] = etag
        status, answer, body = self._send(url, what, {"ref": ref} if ref else {}, headers)
        if status == 304:
            return None
        if (answer.get("content-type") or "").startswith("application/json") and body[:1] == "[":
            raise SourceNotFoundError(f"{what}: the path is a directory, not a file")
        return RawFile(_raw_bytes(body, answer, what), answer.get("etag"))

    def last_commit(self, repository: str, path: str, ref: str) -> str:
        """The SHA of the newest commit on ``ref`` that changed ``path`` ('' if none)."""
        what = describe_file(repository, path, ref)
        parameters: dict[str, Any] = {"path": path.strip("/"), "per_page": 1}
        if ref:
            parameters["sha"] = ref
        _, _, body = self._send(
            f"/repos/{_quote(repository)}/commits", what, parameters, {"Accept": JSON}
        )
        commits = _json(body, what)
        if isinstance(commits, list) and commits and isinstance(commits[0], dict):
            return str(commits[0].get("sha") or "")
        return ""

    def get_json(self, url: str, what: str) -> Any:
        """GET a JSON document from the API (``url`` relative to the base URL)."""
        _, _, body = self._send(url, what, {}, {"Accept": JSON})
        return _json(body, what)

    def call(self, what: str, action: Callable[[], T]) -> T:
        """Run a PyGithub call, mapping its failures as :meth:`get_raw` does (no retries)."""
        self._check_cool_down(what)
        try:
            return action()
        except GithubException as e:
            headers = {k.lower(): v for k, v in (e.headers or {}).items()}
            self._observe(headers)
            message = _message(e.data)
            wait = rate_limit_wait(e.status, headers, message, self._clock())
            if wait is not None:
                raise self._rate_limited(what, wait) from None
            raise http_error(e.status, message, what) from None
        except requests.RequestException as e:
            raise SourceError(f"{what}: GitHub at {self.api} did not answer ({_name(e)})") from None

    def _send(
        self, url: str, what: str, parameters: Mapping[str, Any], headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any], str]:
        """GET with GitHub's retry rules; returns a 2xx or 304 answer, or raises."""
        waited = 0.0
        for attempt in range(1, ATTEMPTS + 1):
            self._check_cool_down(what)
            last = attempt == ATTEMPTS
            try:
                status, answer, body = self.github.requester.requestJson(
                    "GET", url, parameters=dict(parameters), headers=dict(headers)
                )
            except GithubException as e:
                # Raised while trading the App's JWT for an installation token.
                self._count(metrics.request_result(e.status))
                raise app_token_error(e.status, _message(e.data), what) from None
            except requests.RequestException as e:
                self._count(metrics.NETWORK_ERROR)
                delay = server_error_backoff(attempt)
                if not last and waited + delay <= self._max_wait:
                    self._sleep(delay)
                    waited += delay
                    continue
                raise SourceError(
                    f"{what}: GitHub at {self.api} did not answer ({_name(e)})"
                ) from None

            self._observe(answer)
            message = _message(_json(body, what, strict=False)) if status >= 400 else ""
            wait = rate_limit_wait(status, answer, message, self._clock())
            self._count(metrics.request_result(status, rate_limited=wait is not None))

            if wait is not None:
                if not last and waited + wait <= self._max_wait:
                    self._sleep(wait)
                    waited += wait
                    continue
                raise self._rate_limited(what, wait)
            if status >= 500 and not last:
                delay = server_error_backoff(attempt)
                if waited + delay <= self._max_wait:
                    self._sleep(delay)
                    waited += delay
                    continue
            if status >= 400:
                raise http_error(status, message, what)
            return status, answer, body
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _check_cool_down(self, what: str) -> None:
        if self._blocked_until > self._clock():
            raise self._cool_down_error(what)

    def _rate_limited(self, what: str, wait: float) -> RateLimitedError:
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + wait)
        return self._cool_down_error(what)

    def _cool_down_error(self, what: str) -> RateLimitedError:
        # The same words until the reset, so a retry in between repeats no Event.
        until = datetime.datetime.fromtimestamp(self._blocked_until, datetime.UTC)
        return RateLimitedError(
            f"{what}: GitHub rate-limited these credentials until {until:%H:%M:%S} UTC; "
            "no request is made before then",
            max(self._blocked_until - self._clock(), 0.0),
        )

    def _observe(self, headers: Mapping[str, str]) -> None:
        limit = read_rate_limit(headers)
        if limit is None:
            return
        self._metrics.github_rate_limit_remaining(self.api, self._label, limit.remaining)
        self._metrics.github_rate_limit_reset(self.api, self._label, limit.reset)

    def _count(self, result: str) -> None:
        self._metrics.github_request(result)


def describe_file(repository: str, path: str, ref: str) -> str:
    """``GitHub owner/name:path@ref``, the way errors and logs name a file."""
    return f"GitHub {repository}:{path.strip('/')}@{ref or 'default branch'}"


def http_error(status: int, message: str, what: str) -> SourceError:
    """The error for a failed answer; messages say what to check, never echo content."""
    said = f"HTTP {status}{f' {message}' if message else ''}"
    if status == 401:
        return SourceForbiddenError(
            f"{what}: {said}: the credentials are invalid, expired or revoked"
        )
    if status == 403:
        return SourceForbiddenError(
            f"{what}: {said}: the credentials may not read this (a token needs Contents: "
            "read on the repository; a GitHub App must be installed on it)"
        )
    if status == 404:
        return SourceNotFoundError(
            f"{what}: {said}: the repository, ref or file does not exist, or the "
            "credentials cannot see it (GitHub answers 404 for private repositories)"
        )
    if status >= 500:
        return SourceError(f"{what}: {said}: GitHub had a server error; retrying later")
    return SourceError(f"{what}: {said}")


def app_token_error(status: int, message: str, what: str) -> SourceError:
    """The error for a refused installation-token request of a GitHub App."""
    said = f"HTTP {status}{f' {message}' if message else ''}"
    if status == 401:
        return SourceForbiddenError(
            f"{what}: GitHub refused the App's JWT ({said}): check appId and privateKey"
        )
    if status == 404:
        return SourceForbiddenError(
            f"{what}: GitHub knows no such App installation ({said}): check installationId"
        )
    if status == 403:
        return SourceForbiddenError(f"{what}: GitHub refused an installation token ({said})")
    return SourceError(f"{what}: getting an installation token failed ({said})")


def _quote(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


def _raw_bytes(text: str, headers: Mapping[str, str], what: str) -> bytes:
    """Undo the text decoding PyGithub's requester did, to get the file's own bytes.

    requests decodes with the charset GitHub declares (UTF-8 for text); undecodable
    bytes became U+FFFD on the way, so such a file is refused rather than altered.
    """
    charset = get_encoding_from_headers(CaseInsensitiveDict(headers)) or "utf-8"
    if "\ufffd" in text and charset.lower().replace("-", "") == "utf8":
        raise PayloadError([f"{what}: the file is not valid UTF-8 text"])
    try:
        return text.encode(charset)
    except (LookupError, UnicodeEncodeError):
        return text.encode("utf-8")


def _json(body: str, what: str, *, strict: bool = True) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        if strict:
            raise SourceError(f"{what}: GitHub's answer is not JSON") from None
        return None


def _message(data: Any) -> str:
    """GitHub's error message (its reason, such as "Bad credentials"), on one short line."""
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str):
        return ""
    return " ".join(message.split())[:MAX_MESSAGE]


def _name(error: Exception) -> str:
    # The exception's text can hold the URL with its query; its class says enough.
    return type(error).__name__
