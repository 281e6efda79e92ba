"""``envpayload github push-secret`` and ``audit`` against a local GitHub."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envpayload.cli import main
from tests.github_fake import FakeGitHub

TOKEN = "ghp_CliCanaryToken00000000000000000000"
REPO = "acme/shop"
DAY = 86400.0
PAYLOAD = 'DATABASE_URL=mysql://db/shop\r\nTLS_KEY="-----BEGIN KEY-----\nabc\n-----END KEY-----"\n'


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO).environments.add("production")
        fake.add_token(TOKEN)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        yield fake


def envfile(tmp_path: Path, text: str | bytes = PAYLOAD) -> str:
    path = tmp_path / ".env.production"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def run(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as e:
        return int(e.code or 0)


def test_push_secret_writes_the_file_verbatim(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("github", "push-secret", "--repository", REPO, "--file", envfile(tmp_path))

    assert code == 0
    assert github.secret_value(REPO, "PRODUCTION_ENV_FILE") == PAYLOAD
    out = capsys.readouterr().out
    assert "Wrote secret PRODUCTION_ENV_FILE of acme/shop: 2 keys" in out
    assert "DATABASE_URL, TLS_KEY" in out
    assert "mysql://" not in out


def test_push_secret_can_write_an_environment_secret_under_another_name(
    github: FakeGitHub, tmp_path: Path
) -> None:
    code = run(
        "github",
        "push-secret",
        "--repository",
        REPO,
        "--file",
        envfile(tmp_path),
        "--name",
        "STAGING_ENV_FILE",
        "--environment",
        "production",
    )

    assert code == 0
    assert github.secret_value(REPO, "STAGING_ENV_FILE", environment="production") == PAYLOAD
    assert github.secret_value(REPO, "STAGING_ENV_FILE") is None


def test_an_invalid_payload_is_refused_and_nothing_is_written(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = 'API_KEY=one\nAPI_KEY=two\nTLS_KEY="unterminated\n'

    code = run("github", "push-secret", "--repository", REPO, "--file", envfile(tmp_path, broken))

    assert code == 1
    assert "key API_KEY is defined again" in capsys.readouterr().err
    assert github.count("PUT") == 0


def test_a_required_key_is_checked_before_writing(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--repository", REPO, "--file", envfile(tmp_path), "--require", "REDIS_URL"]

    assert run("github", "push-secret", *argv) == 1
    assert "REDIS_URL" in capsys.readouterr().err
    assert github.count("PUT") == 0


def test_a_payload_over_githubs_size_limit_is_refused(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = "".join(f"KEY_{n}={'x' * 1000}\n" for n in range(50))

    code = run("github", "push-secret", "--repository", REPO, "--file", envfile(tmp_path, big))

    assert code == 1
    assert "GitHub keeps at most 49152 bytes in a secret" in capsys.readouterr().err
    assert github.count("PUT") == 0


def test_a_sealed_envelope_is_not_pushed(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        "github", "push-secret", "--repository", REPO, "--file", envfile(tmp_path, "esv1.abc\n")
    )

    assert code == 1
    assert "is a sealed envelope" in capsys.readouterr().err
    assert github.count("PUT") == 0


@pytest.mark.parametrize("name", ["GITHUB_ENV_FILE", "1ENV", "ENV-FILE"])
def test_a_name_github_would_refuse_is_a_usage_error(
    github: FakeGitHub, tmp_path: Path, name: str
) -> None:
    argv = ["--repository", REPO, "--file", envfile(tmp_path), "--name", name]

    assert run("github", "push-secret", *argv) == 2


def test_without_a_token_the_commands_say_so(
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")

    assert run("github", "audit", "--repository", REPO) == 2
    assert "set GITHUB_TOKEN" in capsys.readouterr().err


def test_a_refused_token_fails_with_githubs_reason(
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_revoked")

    code = run("github", "push-secret", "--repository", REPO, "--file", envfile(tmp_path))

    assert code == 1
    err = capsys.readouterr().err
    assert "HTTP 401 Bad credentials" in err
    assert "ghp_revoked" not in err


def audit(*extra: str) -> tuple[int, dict[str, Any]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run("github", "audit", "--repository", REPO, "--json", *extra)
    return code, json.loads(out.getvalue())


def rotated(github: FakeGitHub, days_ago: float, *names: str) -> None:
    for name in names:
        github.set_secret(REPO, name, "v", updated=time.time() - days_ago * DAY)


def test_a_well_kept_repository_has_no_findings(github: FakeGitHub) -> None:
    rotated(github, 10, "PRODUCTION_ENV_FILE", "REGISTRY_USERNAME", "REGISTRY_TOKEN")
    rotated(github, 80, "OPERATIONS_ALERT_WEBHOOK")

    code, result = audit()

    assert code == 0
    assert result["ok"] is True
    assert [row["status"] for row in result["secrets"]] == ["ok"] * 4
    assert result["permissions"] == {
        "enabled": True,
        "allowedActions": "selected",
        "defaultWorkflowPermissions": "read",
        "canApprovePullRequestReviews": False,
    }


def test_missing_and_unrotated_secrets_are_findings(github: FakeGitHub) -> None:
    rotated(github, 10, "PRODUCTION_ENV_FILE", "REGISTRY_USERNAME")
    rotated(github, 120, "REGISTRY_TOKEN")

    code, result = audit()

    assert code == 1
    statuses = {row["name"]: row["status"] for row in result["secrets"]}
    assert statuses == {
        "PRODUCTION_ENV_FILE": "ok",
        "REGISTRY_USERNAME": "ok",
        "REGISTRY_TOKEN": "stale",
        "OPERATIONS_ALERT_WEBHOOK": "missing",
    }
    kinds = sorted((f["kind"], f["subject"]) for f in result["findings"])
    assert kinds == [
        ("SecretMissing", "OPERATIONS_ALERT_WEBHOOK"),
        ("SecretNotRotated", "REGISTRY_TOKEN"),
    ]


def test_the_expected_secrets_and_the_rotation_period_can_be_chosen(github: FakeGitHub) -> None:
    rotated(github, 40, "DEPLOY_KEY")

    assert audit("--expect", "DEPLOY_KEY")[0] == 0
    code, result = audit("--expect", "DEPLOY_KEY", "--max-age", "30d")
    assert code == 1
    assert result["findings"][0]["kind"] == "SecretNotRotated"


def test_environment_secrets_count_when_asked_for(github: FakeGitHub) -> None:
    github.set_secret(REPO, "DEPLOY_KEY", "v", updated=time.time(), environment="production")

    assert audit("--expect", "DEPLOY_KEY")[0] == 1
    code, result = audit("--expect", "DEPLOY_KEY", "--environment", "production")
    assert code == 0
    assert result["secrets"][0]["scope"] == "environment production"


def test_a_secret_the_organisation_shares_counts_unless_the_repository_shadows_it(
    github: FakeGitHub,
) -> None:
    github.share_organization_secret(REPO, "DEPLOY_KEY", updated=time.time() - 200 * DAY)
    github.share_organization_secret(REPO, "SIGNING_KEY", updated=time.time() - DAY)
    rotated(github, 1, "DEPLOY_KEY")

    code, result = audit("--expect", "DEPLOY_KEY", "--expect", "SIGNING_KEY")

    assert code == 0
    scopes = {row["name"]: (row["scope"], row["status"]) for row in result["secrets"]}
    assert scopes == {
        "DEPLOY_KEY": ("repository", "ok"),
        "SIGNING_KEY": ("organization", "ok"),
    }


def test_a_stale_organisation_secret_is_a_finding(github: FakeGitHub) -> None:
    github.share_organization_secret(REPO, "SIGNING_KEY", updated=time.time() - 200 * DAY)

    code, result = audit("--expect", "SIGNING_KEY")

    assert code == 1
    assert result["secrets"][0]["scope"] == "organization"
    assert [f["kind"] for f in result["findings"]] == ["SecretNotRotated"]


def test_unreadable_organisation_secrets_fail_the_audit(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only 404 means "no organisation"; a refusal must not pass for "nothing shared".
    github.share_organization_secret(REPO, "SIGNING_KEY", updated=time.time())
    github.fail(403, "Resource not accessible", path_contains="/organization-secrets")

    code = run("github", "audit", "--repository", REPO, "--expect", "SIGNING_KEY")

    assert code == 1
    assert "listing the organisation secrets shared with acme/shop: HTTP 403" in (
        capsys.readouterr().err
    )


def test_loose_actions_permissions_are_findings(github: FakeGitHub) -> None:
    rotated(github, 1, "DEPLOY_KEY")
    repo = github.repos[REPO]
    repo.permissions = {"enabled": True, "allowed_actions": "all"}
    repo.workflow_permissions = {
        "default_workflow_permissions": "write",
        "can_approve_pull_request_reviews": True,
    }

    code, result = audit("--expect", "DEPLOY_KEY")

    assert code == 1
    assert [f["kind"] for f in result["findings"]] == [
        "AllActionsAllowed",
        "WorkflowTokenWritable",
        "WorkflowsApprovePullRequests",
    ]


def test_unreadable_permissions_are_a_finding_not_a_pass(github: FakeGitHub) -> None:
    rotated(github, 1, "DEPLOY_KEY")
    github.fail(
        403, "Resource not accessible by personal access token", path_contains="/permissions"
    )

    code, result = audit("--expect", "DEPLOY_KEY")

    assert code == 1
    assert result["permissions"] is None
    (finding,) = result["findings"]
    assert finding["kind"] == "PermissionsUnreadable"
    assert "HTTP 403" in finding["message"]


def test_the_table_shows_every_expected_secret_and_the_findings(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    rotated(github, 120, "PRODUCTION_ENV_FILE")

    code = run("github", "audit", "--repository", REPO)

    assert code == 1
    out = capsys.readouterr().out
    assert "PRODUCTION_ENV_FILE" in out
    assert "stale" in out
    assert "REGISTRY_TOKEN" in out
    assert "missing" in out
    assert "default workflow token:        read" in out
    assert "Findings: 4" in out
