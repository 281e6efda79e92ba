"""Credentials read from a Secret's keys: a token or a GitHub App, never printable."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from envpayload.errors import SourceForbiddenError
from envpayload.github_api.credentials import AppCredentials, TokenCredentials, read_credentials

TOKEN = "ghp_CanaryToken0123456789abcdefABCDEF"


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_a_token_key_makes_token_credentials_and_its_newline_is_dropped() -> None:
    credentials = read_credentials({"token": TOKEN + "\n"}, "credentials Secret gh")

    assert credentials == TokenCredentials(TOKEN)


def test_app_keys_make_app_credentials(private_key: str) -> None:
    credentials = read_credentials(
        {"appId": "123", "installationId": "456", "privateKey": private_key}, "Secret gh"
    )

    assert isinstance(credentials, AppCredentials)
    assert (credentials.app_id, credentials.installation_id) == ("123", 456)


def test_credentials_never_print_what_they_hold(private_key: str) -> None:
    token = read_credentials({"token": TOKEN}, "Secret gh")
    app = read_credentials(
        {"appId": "123", "installationId": "456", "privateKey": private_key}, "Secret gh"
    )

    assert TOKEN not in repr(token)
    assert "PRIVATE KEY" not in repr(app)
    assert private_key.splitlines()[1] not in repr(app)


def test_a_secret_with_neither_kind_names_the_keys_it_needs_and_has() -> None:
    with pytest.raises(SourceForbiddenError) as caught:
        read_credentials({"password": "hunter2"}, "credentials Secret gh")

    message = str(caught.value)
    assert "credentials Secret gh must hold the key token" in message
    assert "it holds password" in message
    assert "hunter2" not in message


def test_an_incomplete_app_says_which_keys_are_missing(private_key: str) -> None:
    with pytest.raises(SourceForbiddenError, match="not installationId"):
        read_credentials({"appId": "1", "privateKey": private_key}, "Secret gh")


def test_a_private_key_that_is_not_pem_is_refused_without_quoting_it() -> None:
    with pytest.raises(SourceForbiddenError) as caught:
        read_credentials(
            {"appId": "1", "installationId": "2", "privateKey": "not-a-key-CANARY"}, "Secret gh"
        )

    assert "privateKey is not an unencrypted PEM private key" in str(caught.value)
    assert "CANARY" not in str(caught.value)


def test_an_installation_id_must_be_a_number(private_key: str) -> None:
    with pytest.raises(SourceForbiddenError, match="installationId must be a number"):
        read_credentials(
            {"appId": "1", "installationId": "abc", "privateKey": private_key}, "Secret gh"
        )
