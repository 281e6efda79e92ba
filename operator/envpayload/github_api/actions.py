"""GitHub Actions secrets and permissions of a repository, for ``envpayload github``.

Writing a secret: PyGithub fetches the repository's (or environment's) public key and
seals the value with it (a libsodium sealed box) before the PUT, so the value leaves this
machine encrypted for GitHub only. Reading: secret names with their creation and update
times (GitHub never returns values), including those an organisation shares with the
repository, and the two Actions permission documents that have no PyGithub wrapper.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Final

from github.PaginatedList import PaginatedList
from github.Secret import Secret

from envpayload.errors import SourceNotFoundError
from envpayload.github_api.client import GitHubClient

# GitHub's documented limit for one secret value: 48 KB.
SECRET_VALUE_LIMIT: Final = 48 * 1024
# GitHub's rules for secret names: letters, digits and underscores, not starting with a
# digit or with GITHUB_ (any case).
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def secret_name_problem(name: str) -> str | None:
    """Why GitHub would refuse ``name`` as a secret name, or None."""
    if not _SECRET_NAME.fullmatch(name):
        return (
            f"{name!r} is not a valid secret name: use letters, digits and underscores, "
            "not starting with a digit"
        )
    if name.upper().startswith("GITHUB_"):
        return f"{name!r} is not a valid secret name: names may not start with GITHUB_"
    return None


@dataclass(frozen=True)
class SecretInfo:
    """What GitHub tells about a secret: its name and when it was created and updated."""

    name: str
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    scope: str  # "organization", "repository" or "environment NAME"


@dataclass(frozen=True)
class ActionsPermissions:
    """The repository's Actions policy, as its two permission documents say."""

    enabled: bool
    allowed_actions: str
    default_workflow_permissions: str
    can_approve_pull_request_reviews: bool


def push_secret(
    client: GitHubClient, repository: str, name: str, value: str, environment: str = ""
) -> None:
    """Create or replace the Actions secret ``name`` (of ``environment`` when given)."""
    repo = client.github.get_repo(repository)
    if environment:
        where = f"secret {name} of environment {environment} in {repository}"
        client.call(
            f"writing {where}",
            lambda: repo.get_environment(environment).create_secret(name, value),
        )
    else:
        where = f"secret {name} of {repository}"
        client.call(f"writing {where}", lambda: repo.create_secret(name, value, "actions"))


def list_secrets(client: GitHubClient, repository: str, environment: str = "") -> list[SecretInfo]:
    """The Actions secrets of the repository, or of one of its environments."""
    repo = client.github.get_repo(repository)
    if environment:
        scope = f"environment {environment}"
        listing = client.call(
            f"listing the secrets of {scope} in {repository}",
            lambda: list(repo.get_environment(environment).get_secrets()),
        )
    else:
        scope = "repository"
        listing = client.call(
            f"listing the secrets of {repository}", lambda: list(repo.get_secrets())
        )
    return _infos(listing, scope)


def list_organization_secrets(client: GitHubClient, repository: str) -> list[SecretInfo]:
    """The organisation's Actions secrets that workflows of ``repository`` can read.

    A repository owned by a user has none: GitHub answers 404, read here as an empty list.
    """
    # PyGithub lists these for an organisation, not for a repository: the same listing
    # machinery, pointed at the repository's endpoint.
    url = f"/repos/{urllib.parse.quote(repository, safe='/')}/actions/organization-secrets"
    shared = PaginatedList(Secret, client.github.requester, url, None, list_item="secrets")
    try:
        listing = client.call(
            f"listing the organisation secrets shared with {repository}", lambda: list(shared)
        )
    except SourceNotFoundError:
        return []
    return _infos(listing, "organization")


def actions_permissions(client: GitHubClient, repository: str) -> ActionsPermissions:
    """The repository's Actions permissions (needs Administration: read)."""
    base = f"/repos/{urllib.parse.quote(repository, safe='/')}/actions/permissions"
    general: dict[str, Any] = (
        client.get_json(base, f"reading the Actions permissions of {repository}") or {}
    )
    workflow: dict[str, Any] = (
        client.get_json(f"{base}/workflow", f"reading the workflow permissions of {repository}")
        or {}
    )
    return ActionsPermissions(
        enabled=bool(general.get("enabled", False)),
        allowed_actions=str(general.get("allowed_actions") or ""),
        default_workflow_permissions=str(workflow.get("default_workflow_permissions") or ""),
        can_approve_pull_request_reviews=bool(workflow.get("can_approve_pull_request_reviews")),
    )


def _infos(listing: list[Secret], scope: str) -> list[SecretInfo]:
    return [
        SecretInfo(
            name=secret.name,
            created_at=_aware(secret.created_at),
            updated_at=_aware(secret.updated_at),
            scope=scope,
        )
        for secret in listing
    ]


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
