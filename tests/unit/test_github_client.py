"""The GitHub client against a local GitHub: raw files, 304s, retries, and clear errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from envpayload.errors import (
    RateLimitedError,
    SourceError,
    SourceForbiddenError,
    SourceNotFoundError,
)
from envpayload.github_api.client import RAW, GitHubClient, api_base_url
from envpayload.github_api.credentials import AppCredentials, TokenCredentials
from envpayload.report.metrics import Metrics
from tests.github_fake import FakeGitHub

TOKEN = "ghp_ClientTestToken000000000000000000"
REPO = "acme/shop"
PATH = "deploy/.env.production"
CONTENT = 'DATABASE_URL=mysql://db/shop\r\nGREETING="héllo\nwörld"\n'


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        fake.add_token(TOKEN)
        fake.commit(REPO, PATH, CONTENT)
        yield fake


# The operator's kind of metrics object, with a registry of the tests' own.
METRICS = Metrics()


class Sleeps(list[float]):
    """Records the waits a client asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(
    github: FakeGitHub, *, max_wait: float = 10, sleeps: Sleeps | None = None
) -> GitHubClient:
    return GitHubClient(
        github.url,
        TokenCredentials(TOKEN),
        max_wait=max_wait,
        label="test/creds",
        sleep=sleeps if sleeps is not None else Sleeps(),
        metrics=METRICS,
    )


def test_a_file_comes_back_byte_for_byte_with_an_etag(github: FakeGitHub) -> None:
    raw = client_for(github).get_raw(REPO, PATH, "", None)

    assert raw is not None
    assert raw.content == CONTENT.encode()
    assert raw.etag
    (request,) = github.requests_to("/contents/")
    assert request.headers["accept"] == RAW
    assert "if-none-match" not in request.headers


def test_an_unchanged_file_is_answered_304_and_costs_no_rate_limit(github: FakeGitHub) -> None:
    client = client_for(github)
    first = client.get_raw(REPO, PATH, "", None)
    assert first is not None
    remaining = METRICS.registry.get_sample_value(
        "envpayload_github_rate_limit_remaining",
        {"host": client.api, "credentials": "test/creds"},
    )

    again = client.get_raw(REPO, PATH, "", first.etag)

    assert again is None
    assert github.count(path_contains="/contents/", status=304) == 1
    assert github.requests_to("/contents/")[-1].headers["if-none-match"] == first.etag
    assert remaining == 4999
    assert (
        METRICS.registry.get_sample_value(
            "envpayload_github_rate_limit_remaining",
            {"host": client.api, "credentials": "test/creds"},
        )
        == remaining
    )


def test_requests_are_counted_by_result(github: FakeGitHub) -> None:
    def counted(result: str) -> float:
        value = METRICS.registry.get_sample_value(
            "envpayload_github_requests_total", {"result": result}
        )
        return value or 0.0

    before = {result: counted(result) for result in ("ok", "not_modified", "not_found")}
    client = client_for(github)
    first = client.get_raw(REPO, PATH, "", None)
    assert first is not None
    client.get_raw(REPO, PATH, "", first.etag)
    with pytest.raises(SourceNotFoundError):
        client.get_raw(REPO, "missing.env", "", None)

    assert {result: counted(result) - before[result] for result in before} == {
        "ok": 1,
        "not_modified": 1,
        "not_found": 1,
    }


def test_a_ref_is_passed_on_and_the_last_commit_of_the_file_is_found(github: FakeGitHub) -> None:
    on_branch = github.commit(REPO, PATH, "A=branch\n", branch="release")
    github.commit(REPO, "README.md", "unrelated", branch="release")
    client = client_for(github)

    raw = client.get_raw(REPO, PATH, "release", None)

    assert raw is not None
    assert raw.content == b"A=branch\n"
    assert client.last_commit(REPO, PATH, "release") == on_branch


def test_bad_credentials_end_in_a_clear_forbidden_error(github: FakeGitHub) -> None:
    client = GitHubClient(github.url, TokenCredentials("ghp_wrong"))

    with pytest.raises(SourceForbiddenError) as caught:
        client.get_raw(REPO, PATH, "", None)

    message = str(caught.value)
    assert message.startswith(f"GitHub {REPO}:{PATH}@default branch: HTTP 401 Bad credentials")
    assert "invalid, expired or revoked" in message
    assert "ghp_wrong" not in message


def test_a_token_without_contents_access_ends_in_forbidden(github: FakeGitHub) -> None:
    from tests.github_fake import Grant

    github.add_token("ghp_nocontents", Grant(forbidden=True))

    with pytest.raises(SourceForbiddenError, match="HTTP 403 Resource not accessible"):
        GitHubClient(github.url, TokenCredentials("ghp_nocontents")).get_raw(REPO, PATH, "", None)


def test_a_missing_file_ends_in_not_found(github: FakeGitHub) -> None:
    with pytest.raises(SourceNotFoundError, match="HTTP 404 Not Found"):
        client_for(github).get_raw(REPO, "nope.env", "", None)


def test_a_private_repository_is_not_found_without_credentials(github: FakeGitHub) -> None:
    with pytest.raises(SourceNotFoundError, match="cannot see it"):
        GitHubClient(github.url).get_raw(REPO, PATH, "", None)


def test_a_server_error_is_retried_once_after_a_short_backoff(github: FakeGitHub) -> None:
    github.fail(502, "Server Error", times=1)
    sleeps = Sleeps()

    raw = client_for(github, sleeps=sleeps).get_raw(REPO, PATH, "", None)

    assert raw is not None
    assert raw.content == CONTENT.encode()
    assert sleeps == [0.5]
    assert github.count(path_contains="/contents/") == 2


def test_a_lasting_server_error_gives_up_after_bounded_attempts(github: FakeGitHub) -> None:
    github.fail(503, "Service Unavailable")
    sleeps = Sleeps()

    with pytest.raises(SourceError, match="HTTP 503") as caught:
        client_for(github, sleeps=sleeps).get_raw(REPO, PATH, "", None)

    assert caught.value.retryable
    assert github.count(path_contains="/contents/") == 3
    assert sum(sleeps) <= 10


def test_a_retry_after_longer_than_the_wait_bound_ends_the_call_and_cools_down(
    github: FakeGitHub,
) -> None:
    github.fail(
        429,
        "You have exceeded a secondary rate limit.",
        times=1,
        headers={"Retry-After": "30"},
    )
    sleeps = Sleeps()
    client = client_for(github, max_wait=5, sleeps=sleeps)

    with pytest.raises(RateLimitedError) as caught:
        client.get_raw(REPO, PATH, "", None)
    assert caught.value.retry_after == pytest.approx(30, abs=1)
    assert sleeps == []

    # The cool-down is kept: no request is made before GitHub said it would answer.
    with pytest.raises(RateLimitedError) as again:
        client.get_raw(REPO, PATH, "", None)
    assert github.count(path_contains="/contents/") == 1
    assert str(again.value) == str(caught.value)


def test_a_short_retry_after_is_waited_for_within_the_bound(github: FakeGitHub) -> None:
    github.fail(429, "secondary rate limit", times=1, headers={"Retry-After": "2"})
    sleeps = Sleeps()

    raw = client_for(github, max_wait=5, sleeps=sleeps).get_raw(REPO, PATH, "", None)

    assert raw is not None
    assert sleeps == [2.0]


def test_an_exhausted_primary_limit_waits_for_the_reset(github: FakeGitHub) -> None:
    github.exhaust_rate_limit(TOKEN, reset_in=600)

    with pytest.raises(RateLimitedError, match="rate-limited these credentials") as caught:
        client_for(github).get_raw(REPO, PATH, "", None)

    assert 590 < caught.value.retry_after <= 602
    assert caught.value.reason == "SourceRateLimited"


def test_an_unreachable_github_ends_in_a_source_error_after_bounded_attempts() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    client = GitHubClient(f"http://127.0.0.1:{port}", TokenCredentials(TOKEN), sleep=sleeps)

    with pytest.raises(SourceError, match=r"did not answer \(ConnectionError\)"):
        client.get_raw(REPO, PATH, "", None)
    assert len(sleeps) == 2


def test_a_github_app_gets_an_installation_token(github: FakeGitHub) -> None:
    github.add_installation(99)
    app = AppCredentials(github.app_id, 99, github.app_private_key_pem())

    raw = GitHubClient(github.url, app).get_raw(REPO, PATH, "", None)

    assert raw is not None
    assert github.count("POST", "/app/installations/99/access_tokens", status=201) == 1
    token = github.installation_tokens[-1]
    assert github.requests_to("/contents/")[-1].headers["authorization"].endswith(token)


def test_an_unknown_installation_says_to_check_the_installation_id(github: FakeGitHub) -> None:
    app = AppCredentials(github.app_id, 12345, github.app_private_key_pem())

    with pytest.raises(SourceForbiddenError, match="check installationId"):
        GitHubClient(github.url, app).get_raw(REPO, PATH, "", None)


def test_a_wrong_app_id_says_to_check_the_app_id_and_key(github: FakeGitHub) -> None:
    github.add_installation(99)
    app = AppCredentials("1", 99, github.app_private_key_pem())

    with pytest.raises(SourceForbiddenError, match="check appId and privateKey"):
        GitHubClient(github.url, app).get_raw(REPO, PATH, "", None)


def test_an_enterprise_server_base_url_is_used_as_given() -> None:
    with FakeGitHub(prefix="/api/v3") as github:
        github.add_repo(REPO)
        github.add_token(TOKEN)
        github.commit(REPO, PATH, CONTENT)

        raw = GitHubClient(github.url, TokenCredentials(TOKEN)).get_raw(REPO, PATH, "", None)

    assert raw is not None
    assert raw.content == CONTENT.encode()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("", "https://api.github.com"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_api_base_urls_default_to_github_com(given: str, used: str) -> None:
    assert api_base_url(given) == used


def test_plain_http_is_refused_except_on_loopback() -> None:
    with pytest.raises(SourceError, match="must use https"):
        api_base_url("http://ghe.example.com/api/v3")
