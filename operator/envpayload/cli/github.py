"""``envpayload github push-secret|audit``: the GitHub Actions side of a payload.

Teams keep the plain payload in the Actions secret ``PRODUCTION_ENV_FILE``, which the
deploy workflow writes out as ``.env.production``. ``push-secret`` writes that secret
from a ``.env`` file, verbatim (newlines and all), but only after the same strict
parsing and validation the operator applies, and never past GitHub's 48 KB limit.
``audit`` checks that a repository holds the secrets its pipeline expects (its own, or
shared by its organisation), that they were rotated within the rotation period, and how
its Actions permissions are set.

Both take ``--repository OWNER/NAME``, read a token from ``GITHUB_TOKEN`` and the API
base URL from ``--base-url`` or ``GITHUB_API_URL`` (GitHub Enterprise Server:
``https://HOST/api/v3``). Exit codes: 0 success, 1 findings or failures, 2 usage.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from envpayload.cli.common import (
    USAGE_ERROR,
    check_payload,
    fail,
    help_text,
    quiet_chatty_loggers,
    read_input,
)
from envpayload.conventions import format_time
from envpayload.errors import EnvPayloadError, PayloadError, ValidationError
from envpayload.github_api.actions import (
    SECRET_VALUE_LIMIT,
    ActionsPermissions,
    SecretInfo,
    actions_permissions,
    list_organization_secrets,
    list_secrets,
    push_secret,
    secret_name_problem,
)
from envpayload.github_api.client import GitHubClient
from envpayload.github_api.credentials import TokenCredentials
from envpayload.spec import SpecError, parse_duration
from envpayload.validate import Rules

DEFAULT_SECRET: Final = "PRODUCTION_ENV_FILE"  # noqa: S105 - a name, not a value
# The secrets the deploy pipeline of the seed document needs.
DEFAULT_EXPECTED: Final = (
    "PRODUCTION_ENV_FILE",
    "REGISTRY_USERNAME",
    "REGISTRY_TOKEN",
    "OPERATIONS_ALERT_WEBHOOK",
)
DEFAULT_MAX_AGE: Final = "90d"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "github",
        help="manage and audit the GitHub Actions secrets of a repository",
        description=help_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="github_command", required=True, metavar="ACTION")

    push = actions.add_parser(
        "push-secret",
        help="write a .env file as an Actions secret, after strict validation",
        description="Write a .env file verbatim as a repository or environment Actions "
        "secret, after strict validation. The token needs Secrets: write.",
    )
    _common(push)
    push.add_argument("--file", required=True, help="the .env file, or - for standard input")
    push.add_argument("--name", default=DEFAULT_SECRET, help="secret name (default: %(default)s)")
    push.add_argument("--environment", metavar="ENV", help="write an environment's secret")
    push.add_argument(
        "--require", action="append", default=[], metavar="KEY", help="a key that must be present"
    )
    push.add_argument("--no-empty", action="store_true", help="reject keys with empty values")
    push.set_defaults(handler=handle_push)

    audit = actions.add_parser(
        "audit",
        help="check expected secrets, their rotation, and the Actions permissions",
        description="Check that the expected Actions secrets exist and were rotated within "
        "the rotation period, and report the Actions permissions. Exit 1 on any finding. "
        "The token needs Secrets: read and Administration: read.",
    )
    _common(audit)
    audit.add_argument(
        "--expect",
        action="append",
        metavar="NAME",
        help=f"a secret that must exist (repeatable; default: {', '.join(DEFAULT_EXPECTED)})",
    )
    audit.add_argument(
        "--max-age",
        default=DEFAULT_MAX_AGE,
        help="rotation period, such as 90d or 30d (default: %(default)s)",
    )
    audit.add_argument("--environment", metavar="ENV", help="also count this environment's secrets")
    audit.add_argument("--json", action="store_true", help="print the result as JSON")
    audit.set_defaults(handler=handle_audit)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repository", required=True, metavar="OWNER/NAME")
    parser.add_argument(
        "--base-url",
        default=os.environ.get("GITHUB_API_URL", ""),
        help="API base URL (default: $GITHUB_API_URL, else https://api.github.com)",
    )


def _client(args: argparse.Namespace) -> GitHubClient:
    if not _REPOSITORY.fullmatch(args.repository):
        fail(f"--repository must be OWNER/NAME, not {args.repository!r}", USAGE_ERROR)
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        fail("set GITHUB_TOKEN to a token that may use the repository's secrets", USAGE_ERROR)
    quiet_chatty_loggers()
    try:
        return GitHubClient(args.base_url, TokenCredentials(token))
    except EnvPayloadError as e:
        fail(str(e), USAGE_ERROR)


def handle_push(args: argparse.Namespace) -> int:
    if problem := secret_name_problem(args.name):
        fail(problem, USAGE_ERROR)
    client = _client(args)
    content = read_input(args.file)
    shown = "standard input" if args.file == "-" else args.file

    rules = Rules(required=tuple(args.require), allow_empty=not args.no_empty)
    try:
        _, report = check_payload(
            content,
            rules,
            if_sealed=f"it is a sealed envelope; {args.name} holds the plain payload that CI "
            "writes out as a .env file (commit sealed files to the repository instead)",
        )
    except (PayloadError, ValidationError) as e:
        for problem in e.problems:
            print(f"{shown}: {problem}", file=sys.stderr)
        return 1
    if len(content) > SECRET_VALUE_LIMIT:
        fail(
            f"{shown} has {len(content)} bytes; GitHub keeps at most {SECRET_VALUE_LIMIT} "
            "bytes in a secret"
        )

    where = f"environment {args.environment} of " if args.environment else ""
    try:
        # Verbatim: the decoded text, newlines and all, is what the workflow will write.
        push_secret(
            client, args.repository, args.name, content.decode("utf-8"), args.environment or ""
        )
    except EnvPayloadError as e:
        fail(str(e))
    print(
        f"Wrote secret {args.name} of {where}{args.repository}: {len(report.keys)} keys, "
        f"{len(content)} bytes: {', '.join(report.keys)}"
    )
    return 0


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    message: str


def handle_audit(args: argparse.Namespace) -> int:
    try:
        max_age = parse_duration(args.max_age)
    except SpecError as e:
        fail(f"--max-age: {e}", USAGE_ERROR)
    expected = tuple(dict.fromkeys(args.expect or DEFAULT_EXPECTED))
    client = _client(args)
    now = datetime.datetime.now(datetime.UTC)

    try:
        # Lowest level last: GitHub lets an environment's secret shadow the repository's,
        # and the repository's shadow the organisation's.
        secrets = list_organization_secrets(client, args.repository)
        secrets += list_secrets(client, args.repository)
        if args.environment:
            secrets += list_secrets(client, args.repository, args.environment)
    except EnvPayloadError as e:
        fail(str(e))

    findings: list[Finding] = []
    rows = _secret_rows(secrets, expected, max_age, now, findings)
    permissions: ActionsPermissions | None = None
    try:
        permissions = actions_permissions(client, args.repository)
    except EnvPayloadError as e:
        findings.append(Finding("PermissionsUnreadable", "actions", str(e)))
    if permissions is not None:
        findings += permission_findings(permissions)

    result = {
        "repository": args.repository,
        "checkedAt": format_time(now),
        "maxAgeDays": round(max_age.total_seconds() / 86400, 2),
        "secrets": rows,
        "otherSecrets": sorted({s.name for s in secrets} - set(expected)),
        "permissions": _permissions_dict(permissions),
        "findings": [f.__dict__ for f in findings],
        "ok": not findings,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(_table(result))
    return 1 if findings else 0


def _secret_rows(
    secrets: Sequence[SecretInfo],
    expected: Sequence[str],
    max_age: datetime.timedelta,
    now: datetime.datetime,
    findings: list[Finding],
) -> list[dict[str, Any]]:
    """One row per expected secret; missing and stale ones are added to ``findings``."""
    rows: list[dict[str, Any]] = []
    for name in expected:
        # The last one found is the one workflows see (see handle_audit).
        found = [s for s in secrets if s.name == name]
        secret = found[-1] if found else None
        row: dict[str, Any] = {"name": name, "scope": None, "updatedAt": None, "ageDays": None}
        if secret is None:
            row["status"] = "missing"
            findings.append(Finding("SecretMissing", name, f"secret {name} does not exist"))
        else:
            changed = secret.updated_at or secret.created_at
            age = now - changed if changed else None
            row.update(
                scope=secret.scope,
                updatedAt=format_time(changed) if changed else None,
                ageDays=age.days if age is not None else None,
            )
            if age is None or age > max_age:
                row["status"] = "stale"
                days = f"{age.days} days" if age is not None else "an unknown time"
                findings.append(
                    Finding(
                        "SecretNotRotated",
                        name,
                        f"secret {name} was last updated {days} ago, longer than the "
                        f"rotation period of {max_age.days} days",
                    )
                )
            else:
                row["status"] = "ok"
        rows.append(row)
    return rows


def permission_findings(permissions: ActionsPermissions) -> list[Finding]:
    """What in the Actions permissions goes against the hardening guidance."""
    findings: list[Finding] = []
    if not permissions.enabled:
        findings.append(
            Finding("ActionsDisabled", "actions", "GitHub Actions are disabled for the repository")
        )
        return findings
    if permissions.allowed_actions == "all":
        findings.append(
            Finding(
                "AllActionsAllowed",
                "actions",
                "any action from any author may run; allow local_only or selected actions",
            )
        )
    if permissions.default_workflow_permissions == "write":
        findings.append(
            Finding(
                "WorkflowTokenWritable",
                "actions",
                "the default GITHUB_TOKEN can write; make it read-only and grant writes per job",
            )
        )
    if permissions.can_approve_pull_request_reviews:
        findings.append(
            Finding(
                "WorkflowsApprovePullRequests",
                "actions",
                "workflows may approve pull requests, which lets a workflow bypass review",
            )
        )
    return findings


def _permissions_dict(permissions: ActionsPermissions | None) -> dict[str, Any] | None:
    if permissions is None:
        return None
    return {
        "enabled": permissions.enabled,
        "allowedActions": permissions.allowed_actions,
        "defaultWorkflowPermissions": permissions.default_workflow_permissions,
        "canApprovePullRequestReviews": permissions.can_approve_pull_request_reviews,
    }


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"Repository {result['repository']} (rotation period {result['maxAgeDays']:g} days)",
        "",
        f"{'SECRET':<32} {'SCOPE':<24} {'UPDATED':<20} {'AGE':>6}  STATUS",
    ]
    for row in result["secrets"]:
        age = f"{row['ageDays']}d" if row["ageDays"] is not None else "-"
        lines.append(
            f"{row['name']:<32} {row['scope'] or '-':<24} {row['updatedAt'] or '-':<20} "
            f"{age:>6}  {row['status']}"
        )
    if result["otherSecrets"]:
        lines.append(f"Other secrets: {', '.join(result['otherSecrets'])}")

    lines += ["", "Actions permissions"]
    permissions = result["permissions"]
    if permissions is None:
        lines.append("  (could not be read)")
    else:
        lines += [
            f"  enabled:                       {'yes' if permissions['enabled'] else 'no'}",
            f"  allowed actions:               {permissions['allowedActions'] or '-'}",
            f"  default workflow token:        {permissions['defaultWorkflowPermissions'] or '-'}",
            "  workflows may approve PRs:     "
            + ("yes" if permissions["canApprovePullRequestReviews"] else "no"),
        ]

    findings = result["findings"]
    lines += ["", f"Findings: {len(findings) or 'none'}"]
    lines += [f"  - {f['kind']}: {f['message']}" for f in findings]
    return "\n".join(lines)
