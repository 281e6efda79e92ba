"""Credentials for the GitHub API, read from the keys of a Kubernetes Secret.

Two kinds, told apart by the keys the Secret holds:

- ``token``: a personal access token (fine-grained, "Contents: read" on the repository
  is enough) or any other token GitHub accepts as a bearer;
- ``appId``, ``installationId`` and ``privateKey``: a GitHub App installed on the
  repository. PyGithub signs a short-lived JWT with the key and trades it for an
  installation token, renewed before it expires.

Neither kind can be printed: the secret fields are left out of ``repr``, and errors name
the Secret and its keys, never what they hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth

from envpayload.errors import SourceForbiddenError

TOKEN_KEY: Final = "token"  # noqa: S105 - the name of a key, not a token
APP_KEYS: Final = ("appId", "installationId", "privateKey")


@dataclass(frozen=True)
class TokenCredentials:
    """A token sent as ``Authorization: token ...``."""

    token: str = field(repr=False)

    def auth(self) -> Auth.Auth:
        return Auth.Token(self.token)


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App installation; the private key signs the JWTs that buy tokens."""

    app_id: str
    installation_id: int
    private_key: str = field(repr=False)

    def auth(self) -> Auth.Auth:
        return Auth.AppAuth(self.app_id, self.private_key).get_installation_auth(
            self.installation_id
        )


Credentials = TokenCredentials | AppCredentials


def read_credentials(data: Mapping[str, str], where: str) -> Credentials:
    """Credentials from a Secret's decoded data; ``where`` names the Secret in errors."""
    # Values written with `kubectl create secret --from-file` usually end in a newline.
    values = {key: value.strip() for key, value in data.items() if value.strip()}

    if TOKEN_KEY in values:
        return TokenCredentials(values[TOKEN_KEY])

    present = [key for key in APP_KEYS if key in values]
    if not present:
        held = ", ".join(sorted(data)) or "no keys"
        raise SourceForbiddenError(
            f"{where} must hold the key {TOKEN_KEY}, or the keys {', '.join(APP_KEYS)} "
            f"of a GitHub App; it holds {held}"
        )
    missing = [key for key in APP_KEYS if key not in values]
    if missing:
        raise SourceForbiddenError(
            f"{where} holds a GitHub App's {', '.join(present)} but not {', '.join(missing)}"
        )

    if not values["installationId"].isdigit():
        raise SourceForbiddenError(f"{where}: installationId must be a number")
    private_key = values["privateKey"]
    try:
        load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SourceForbiddenError(
            f"{where}: privateKey is not an unencrypted PEM private key "
            "(download it from the GitHub App's settings)"
        ) from None
    return AppCredentials(
        app_id=values["appId"],
        installation_id=int(values["installationId"]),
        private_key=private_key,
    )
