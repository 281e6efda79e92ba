"""The operator's own keys, kept in one Secret in the operator's namespace.

The operator holds key material that must survive restarts and be shared by every
replica: the sealing keys that open ``esv1.`` envelopes (see ``sealing/``) and the
fingerprint key, an HMAC key that makes the fingerprints the operator writes where
users can see them (restart markers in pod templates, status) useless for guessing a
value offline. All of it lives in the Secret ``envpayload-keyring``, created on first
start.

Several writers share that Secret: every operator replica (each may rotate a key that
fell due) and ``envpayload keys rotate``. Every change is a read, a decision on what was
read, and a write conditioned on the resourceVersion read; when someone else wrote in
between, the apiserver refuses with a conflict and the decision is taken again on what
they wrote. So two replicas never both add a key, and a key one of them just added is
never lost. What the keys are and when they rotate is decided in ``sealing/``; this
module only keeps them.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.errors import EnvPayloadError
from envpayload.kube import describe_api_error
from envpayload.sealing.keys import ENTRY_PREFIX, KeyFormatError, Keyset, SealingKey
from envpayload.sealing.lifecycle import rotation_due

KEYRING_SECRET: Final = "envpayload-keyring"  # noqa: S105 - a name, not a password
FINGERPRINT_KEY: Final = "fingerprint.key"
MANAGED_BY_LABELS: Final = {"app.kubernetes.io/managed-by": "envpayload-operator"}

# Conflicting writers settle within a few rounds; more means something is wrong.
MAX_WRITE_ATTEMPTS: Final = 5

Entries = dict[str, bytes]

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
    """Reads and changes the keyring Secret in the operator's namespace."""

    def __init__(self, core: client.CoreV1Api, namespace: str) -> None:
        self._core = core
        self.namespace = namespace

    def read(self) -> Entries | None:
        """The keyring's entries, or None when it does not exist yet."""
        secret = self._read_secret()
        return None if secret is None else _entries(secret)

    def ensure(self) -> Entries:
        """The keyring, with a fingerprint key and a sealing key created where missing."""
        now = datetime.datetime.now(datetime.UTC)
        return self._update(lambda entries: _completed(entries, now))

    def fingerprinter(self) -> Fingerprinter:
        return Fingerprinter(self.ensure()[FINGERPRINT_KEY])

    def sealing_keys(self) -> Keyset:
        """The sealing keys as stored now; none when the keyring does not exist yet."""
        return _keyset(self.read() or {})

    def rotate(self, now: datetime.datetime, period: datetime.timedelta | None) -> Keyset:
        """Add a new active sealing key when the active one is ``period`` old (None: now)."""

        def change(entries: Entries) -> Entries:
            keyset = _keyset(entries)
            if period is not None and not rotation_due(keyset, now, period):
                return entries
            name, content = SealingKey.generate(keyset.successor_time(now)).to_entry()
            return {**entries, name: content}

        before = self.sealing_keys()
        keyset = _keyset(self._update(lambda entries: change(_completed(entries, now))))
        if keyset.active is not None and keyset.active != before.active:
            logger.info(
                "New sealing key %s in Secret %s/%s; %d older keys keep opening",
                keyset.active.id,
                self.namespace,
                KEYRING_SECRET,
                len(keyset.keys) - 1,
            )
        return keyset

    def delete_sealing_keys(self, decide: Callable[[Keyset], Collection[str]]) -> Keyset:
        """Delete the keys ``decide`` picks; it decides again if the keyring changed meanwhile."""

        def change(entries: Entries) -> Entries:
            keyset = _keyset(entries)
            doomed = set(decide(keyset))
            if keyset.active is not None:
                doomed.discard(keyset.active.id)  # never the key that seals
            return {
                k: v
                for k, v in entries.items()
                if not (k.startswith(ENTRY_PREFIX) and k[len(ENTRY_PREFIX) :] in doomed)
            }

        before = self.sealing_keys()
        keyset = _keyset(self._update(change))
        for key in before.keys:
            if keyset.find(key.id) is None:
                logger.info(
                    "Deleted retired sealing key %s from Secret %s/%s: nothing uses it",
                    key.id,
                    self.namespace,
                    KEYRING_SECRET,
                )
        return keyset

    def _update(self, change: Callable[[Entries], Entries]) -> Entries:
        """Apply ``change`` to the stored entries, retrying on a concurrent write."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            secret = self._read_secret()
            entries = {} if secret is None else _entries(secret)
            wanted = change(dict(entries))
            if secret is not None and wanted == entries:
                return entries

            try:
                if secret is None:
                    self._core.create_namespaced_secret(self.namespace, _body(wanted))
                    logger.info("Created the keyring Secret %s/%s", self.namespace, KEYRING_SECRET)
                else:
                    self._core.replace_namespaced_secret(
                        KEYRING_SECRET, self.namespace, _body(wanted, secret)
                    )
            except ApiException as e:
                if e.status == 409:  # created or changed by someone else since we read it
                    continue
                raise KeyringError(
                    f"writing Secret {KEYRING_SECRET}: {describe_api_error(e)}"
                ) from None
            return wanted
        raise KeyringError(
            f"Secret {KEYRING_SECRET} changed under every one of {MAX_WRITE_ATTEMPTS} writes"
        )

    def _read_secret(self) -> Any:
        try:
            return self._core.read_namespaced_secret(KEYRING_SECRET, self.namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise KeyringError(
                f"reading Secret {KEYRING_SECRET}: {describe_api_error(e)}"
            ) from None


def _completed(entries: Entries, now: datetime.datetime) -> Entries:
    """``entries`` with what a keyring must hold: a fingerprint key and a sealing key."""
    entries = dict(entries)
    if FINGERPRINT_KEY not in entries:
        entries[FINGERPRINT_KEY] = secrets.token_bytes(32)
    if _keyset(entries).active is None:
        name, content = SealingKey.generate(now).to_entry()
        entries[name] = content
    return entries


def _keyset(entries: Entries) -> Keyset:
    try:
        return Keyset.from_entries(entries)
    except KeyFormatError as e:
        raise KeyringError(f"Secret {KEYRING_SECRET}: {e}") from None


def _entries(secret: Any) -> Entries:
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


def _body(entries: Entries, current: Any = None) -> client.V1Secret:
    """The Secret to write; over ``current``, keeping its labels and annotations."""
    meta = current.metadata if current is not None else None
    return client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=KEYRING_SECRET,
            labels={**((meta.labels if meta else None) or {}), **MANAGED_BY_LABELS},
            annotations=meta.annotations if meta else None,
            resource_version=meta.resource_version if meta else None,
        ),
        type="Opaque",
        data={k: base64.b64encode(v).decode() for k, v in sorted(entries.items())},
    )
