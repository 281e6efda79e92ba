"""The ``github`` fetcher: one conditional request per poll, the blob SHA as the signal."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from envpayload.cli.common import quiet_chatty_loggers
from envpayload.errors import SourceForbiddenError, SourceNotFoundError
from envpayload.fetch.github import (
    CredentialsSecret,
    GitHubFetcher,
    SecretVersions,
    git_blob_sha,
)
from envpayload.github_api.client import GitHubClient
from envpayload.github_api.credentials import Credentials
from envpayload.spec import GitHubSource
from tests.github_fake import FakeGitHub, blob_sha

TOKEN = "ghp_FetcherCanaryToken0000000000000000"
REPO = "acme/shop"
PATH = "deploy/.env.production"
NAMESPACE = "shop"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        fake.add_token(TOKEN)
        yield fake


class Secrets:
    """Credentials Secrets by name, as the Kubernetes reader would return them."""

    def __init__(self, **secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.version = 1
        self.reads = 0

    def __call__(self, namespace: str, name: str) -> CredentialsSecret:
        self.reads += 1
        if name not in self.secrets:
            raise SourceForbiddenError(f"credentials Secret {name} does not exist")
        return CredentialsSecret(self.secrets[name], str(self.version))


def new_client(base_url: str, credentials: Credentials | None, label: str) -> GitHubClient:
    return GitHubClient(base_url, credentials, label=label)


def fetcher(secrets: Secrets | None = None) -> GitHubFetcher:
    return GitHubFetcher(secrets or Secrets(gh={"token": TOKEN}), new_client)


def source(github: FakeGitHub, ref: str = "", credentials: str = "gh") -> GitHubSource:
    return GitHubSource(
        repository=REPO,
        path=PATH,
        ref=ref,
        base_url=github.url,
        credentials_secret=credentials,
        allow_plaintext=True,
    )


def test_the_source_version_of_a_plain_file_names_its_commit_only(
    github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    # The blob SHA of a plain file is a hash of the payload: a guess could be tested on it.
    commit = github.commit(REPO, PATH, "API_KEY=one\n")

    with caplog.at_level(logging.DEBUG, logger="envpayload"):
        fetched = fetcher().fetch(NAMESPACE, source(github))

    assert fetched.content == b"API_KEY=one\n"
    assert fetched.version == f"commit:{commit}"
    assert fetched.where == f"GitHub {REPO}:{PATH}@default branch"
    assert blob_sha(b"API_KEY=one\n") not in caplog.text


def test_the_source_version_of_a_sealed_file_names_the_blob_and_the_commit(
    github: FakeGitHub,
) -> None:
    # A sealed file's blob SHA hashes ciphertext; the content here only needs the prefix.
    envelope = b"esv1.aGVhZGVy.Y2lwaGVydGV4dA\n"
    commit = github.commit(REPO, PATH, envelope.decode())

    fetched = fetcher().fetch(NAMESPACE, source(github))

    assert fetched.version == f"blob:{blob_sha(envelope)} commit:{commit}"


def test_the_blob_sha_is_computed_as_git_does() -> None:
    # `git hash-object` of an empty file and of "hello\n".
    assert git_blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_an_unchanged_file_costs_one_conditional_request_per_poll(github: FakeGitHub) -> None:
    github.commit(REPO, PATH, "API_KEY=one\n")
    fetch = fetcher()
    first = fetch.fetch(NAMESPACE, source(github))
    before = len(github.requests)

    polls = [fetch.fetch(NAMESPACE, source(github)) for _ in range(5)]

    assert len(github.requests) - before == 5
    assert all(r.status == 304 and "/contents/" in r.path for r in github.requests[before:])
    assert {p.version for p in polls} == {first.version}
    assert {p.content for p in polls} == {b"API_KEY=one\n"}


def test_a_new_commit_is_followed_with_its_content_and_version(github: FakeGitHub) -> None:
    github.commit(REPO, PATH, "API_KEY=one\n")
    fetch = fetcher()
    first = fetch.fetch(NAMESPACE, source(github))

    second_commit = github.commit(REPO, PATH, "API_KEY=two\n")
    second = fetch.fetch(NAMESPACE, source(github))

    assert second.content == b"API_KEY=two\n"
    assert second.version != first.version
    assert second.version.endswith(f"commit:{second_commit}")


def test_a_commit_that_leaves_the_file_alone_changes_nothing(github: FakeGitHub) -> None:
    github.commit(REPO, PATH, "API_KEY=one\n")
    fetch = fetcher()
    first = fetch.fetch(NAMESPACE, source(github))

    github.commit(REPO, "README.md", "docs only")

    assert fetch.fetch(NAMESPACE, source(github)).version == first.version


def test_a_changed_etag_with_the_same_blob_needs_no_commit_lookup(github: FakeGitHub) -> None:
    # A GitHub App's token changes (here: at every request), and GitHub's ETags with it.
    github.commit(REPO, PATH, "API_KEY=one\n")
    github.add_installation(7)
    github.installation_token_lifetime = 10
    app = {
        "appId": github.app_id,
        "installationId": "7",
        "privateKey": github.app_private_key_pem(),
    }
    fetch = fetcher(Secrets(app=app))
    first = fetch.fetch(NAMESPACE, source(github, credentials="app"))
    commits_before = github.count(path_contains="/commits")

    again = fetch.fetch(NAMESPACE, source(github, credentials="app"))

    assert github.count(path_contains="/contents/", status=200) == 2
    assert github.count(path_contains="/commits") == commits_before
    assert again.version == first.version
    assert len(set(github.installation_tokens)) >= 2


def test_a_changed_credentials_secret_takes_effect_at_once(github: FakeGitHub) -> None:
    github.commit(REPO, PATH, "API_KEY=one\n")
    secrets = Secrets(gh={"token": "ghp_revoked"})
    fetch = fetcher(secrets)
    with pytest.raises(SourceForbiddenError, match="HTTP 401"):
        fetch.fetch(NAMESPACE, source(github))

    secrets.secrets["gh"] = {"token": TOKEN}
    secrets.version += 1

    assert fetch.fetch(NAMESPACE, source(github)).content == b"API_KEY=one\n"


def test_a_missing_credentials_secret_is_reported_by_name(github: FakeGitHub) -> None:
    with pytest.raises(SourceForbiddenError, match="credentials Secret other does not exist"):
        fetcher().fetch(NAMESPACE, source(github, credentials="other"))


def test_a_branch_ref_reads_that_branch(github: FakeGitHub) -> None:
    github.commit(REPO, PATH, "WHERE=main\n")
    github.commit(REPO, PATH, "WHERE=staging\n", branch="staging")

    fetched = fetcher().fetch(NAMESPACE, source(github, ref="staging"))

    assert fetched.content == b"WHERE=staging\n"
    assert fetched.where.endswith("@staging")


def test_a_file_that_disappears_is_not_found(github: FakeGitHub) -> None:
    with pytest.raises(SourceNotFoundError):
        fetcher().fetch(NAMESPACE, source(github))


@pytest.mark.parametrize(("max_files", "max_bytes"), [(2, 1 << 20), (100, 30)])
def test_the_cache_forgets_the_least_recently_used_file_when_full(
    github: FakeGitHub, max_files: int, max_bytes: int
) -> None:
    for name in ("a", "b", "c"):
        github.commit(REPO, f"{name}.env", f"KEY={name * 10}\n")
    fetch = GitHubFetcher(Secrets(gh={"token": TOKEN}), new_client, max_files, max_bytes)
    for name in ("a", "b", "c"):
        fetch.fetch(NAMESPACE, source_of(github, f"{name}.env"))
    before = len(github.requests)

    fetch.fetch(NAMESPACE, source_of(github, "c.env"))
    fetch.fetch(NAMESPACE, source_of(github, "a.env"))

    assert [r.status for r in github.requests[before:]] == [304, 200, 200]


def source_of(github: FakeGitHub, path: str) -> GitHubSource:
    return GitHubSource(REPO, path, "", github.url, "gh", allow_plaintext=True)


def test_tokens_and_content_never_reach_the_log(
    github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    quiet_chatty_loggers()
    caplog.set_level(logging.DEBUG)
    canary = "CANARY_VALUE_5f2e1b"
    github.commit(REPO, PATH, f"API_KEY={canary}\n")
    fetch = fetcher()

    fetched = fetch.fetch(NAMESPACE, source(github))
    fetch.fetch(NAMESPACE, source(github))
    github.commit(REPO, PATH, f"API_KEY={canary}2\n")
    fetch.fetch(NAMESPACE, source(github))

    assert caplog.records, "the DEBUG capture saw nothing, so it proves nothing"
    assert TOKEN not in caplog.text
    assert canary not in caplog.text
    assert canary not in repr(fetched)


def watched(
    secrets: Secrets, versions: SecretVersions, now: list[float] | None = None
) -> GitHubFetcher:
    """A fetcher told of Secret changes by ``versions``; ``now`` is its clock, when given."""
    clock = (lambda: now[0]) if now is not None else time.monotonic
    return GitHubFetcher(secrets, new_client, versions=versions, clock=clock)


def test_a_credentials_secret_is_read_once_while_the_watch_sees_no_change(
    github: FakeGitHub,
) -> None:
    github.commit(REPO, PATH, "API_KEY=one\n")
    secrets, versions = Secrets(gh={"token": TOKEN}), SecretVersions()
    versions.changed(NAMESPACE, "gh", "1")
    polls = watched(secrets, versions)

    for _ in range(5):
        assert polls.fetch(NAMESPACE, source(github)).content == b"API_KEY=one\n"

    assert secrets.reads == 1


def test_a_credentials_secret_is_read_again_when_the_watch_sees_a_new_version(
    github: FakeGitHub,
) -> None:
    github.commit(REPO, PATH, "API_KEY=one\n")
    secrets, versions = Secrets(gh={"token": TOKEN}), SecretVersions()
    polls = watched(secrets, versions)
    polls.fetch(NAMESPACE, source(github))

    secrets.version = 2
    versions.changed(NAMESPACE, "gh", "2")

    polls.fetch(NAMESPACE, source(github))
    polls.fetch(NAMESPACE, source(github))
    assert secrets.reads == 2


def test_a_deleted_credentials_secret_is_read_again_to_say_so(github: FakeGitHub) -> None:
    github.commit(REPO, PATH, "API_KEY=one\n")
    secrets, versions = Secrets(gh={"token": TOKEN}), SecretVersions()
    polls = watched(secrets, versions)
    polls.fetch(NAMESPACE, source(github))

    versions.changed(NAMESPACE, "gh", None)
    del secrets.secrets["gh"]

    with pytest.raises(SourceForbiddenError, match="does not exist"):
        polls.fetch(NAMESPACE, source(github))
    assert secrets.reads == 2


def test_a_credentials_secret_is_read_again_when_the_last_read_is_old(
    github: FakeGitHub,
) -> None:
    # In case a change came before the watch knew anyone read the Secret.
    github.commit(REPO, PATH, "API_KEY=one\n")
    now = [0.0]
    secrets = Secrets(gh={"token": TOKEN})
    polls = watched(secrets, SecretVersions(), now)
    polls.fetch(NAMESPACE, source(github))

    now[0] = 599.0
    polls.fetch(NAMESPACE, source(github))
    assert secrets.reads == 1
    now[0] = 601.0
    polls.fetch(NAMESPACE, source(github))
    assert secrets.reads == 2
