"""The operator's own keys, kept in one Secret in the operator's namespace.

The operator holds key material that must survive restarts and be shared by every
replica: the sealing keys that open ``esv1.`` envelopes (see ``sealing/``) and the
fingerprint key, an HMAC key that makes the fingerprints the operator writes where
users can see them (restart markers in pod templates, status) useless for guessing a
value offline. All of it lives in the Secret ``envpayload-keyring``, created on first
start; whoever creates it first wins, the others read what it wrote.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.errors import EnvPayloadError
from envpayload.kube import describe_api_error

KEYRING_SECRET: Final = "envpayload-keyring"  # noqa: S105 - a name, not a password
FINGERPRINT_KEY: Final = "fingerprint.key"

logger = logging.getLogger(__name__)


class KeyringError(EnvPayloadError):
    """The keyring Secret could not be read or created."""

    reason = "KeyringUnavailable"
    retryable = True


@dataclass(frozen=True)
class Fingerprinter:
    """Keyed fingerprints (HMAC-SHA256) of values, safe to show where anyone can read them."""

    key: bytes = field(repr=False)

    def of(self, parts: Iterable[tuple[str, str]]) -> str:
        """A fingerprint of (name, value) pairs; order-independent, 16 hex digits."""
        mac = hmac.new(self.key, digestmod=hashlib.sha256)
        for name, value in sorted(parts):
            # Length-prefixed, so ("ab", "c") and ("a", "bc") cannot collide.
            for text in (name, value):
                data = text.encode()
                mac.update(len(data).to_bytes(8, "big") + data)
        return mac.hexdigest()[:16]


class KeyringStore:
    """Reads and creates the keyring Secret in the operator's namespace."""

    def __init__(self, core: client.CoreV1Api, namespace: str) -> None:
        self._core = core
        self.namespace = namespace

    def read(self) -> dict[str, bytes] | None:
        """The keyring's entries, or None when it does not exist yet."""
        try:
            secret: Any = self._core.read_namespaced_secret(KEYRING_SECRET, self.namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise KeyringError(
                f"reading Secret {KEYRING_SECRET}: {describe_api_error(e)}"
            ) from None
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    def ensure(self) -> dict[str, bytes]:
        """The keyring, created with a fresh fingerprint key when it does not exist."""
        existing = self.read()
        if existing is not None and FINGERPRINT_KEY in existing:
            return existing

        entries = dict(existing or {})
        entries[FINGERPRINT_KEY] = secrets.token_bytes(32)
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=KEYRING_SECRET,
                labels={"app.kubernetes.io/managed-by": "envpayload-operator"},
            ),
            type="Opaque",
            data={k: base64.b64encode(v).decode() for k, v in entries.items()},
        )
        try:
            if existing is None:
                self._core.create_namespaced_secret(self.namespace, body)
                logger.info("Created the keyring Secret %s/%s", self.namespace, KEYRING_SECRET)
            else:
                patch = {"data": {FINGERPRINT_KEY: body.data[FINGERPRINT_KEY]}}  # type: ignore[index]
                self._core.patch_namespaced_secret(KEYRING_SECRET, self.namespace, patch)
        except ApiException as e:
            if e.status != 409:
                raise KeyringError(
                    f"creating Secret {KEYRING_SECRET}: {describe_api_error(e)}"
                ) from None
        # Another replica may have won the race: what is stored is what counts.
        stored = self.read()
        if stored is None or FINGERPRINT_KEY not in stored:
            raise KeyringError(
                f"Secret {KEYRING_SECRET} has no {FINGERPRINT_KEY} after creating it"
            )
        return stored

    def fingerprinter(self) -> Fingerprinter:
        return Fingerprinter(self.ensure()[FINGERPRINT_KEY])
