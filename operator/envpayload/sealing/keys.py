"""Sealing keys: X25519 key pairs with an id and a creation time, and their published form.

A key's id is derived from its public half (the first 8 bytes of a SHA-256, in hex), so
an id can never name two different keys, anyone holding a public key can compute its id,
and an envelope's header can name the key that opens it without revealing anything.

The operator keeps its keys as entries of the keyring Secret (``keyring.py``); this
module only turns keys into entries and back, so the storage format is unit-tested
without a cluster. The public half travels as a standard PEM ``PUBLIC KEY`` block, the
"certificate" that ``envpayload seal --cert`` reads.

NB: a private key never appears in a ``repr``, a log or an error message; errors about a
malformed entry name the entry, never its content.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from envpayload.conventions import TIME_FORMAT, format_time

KEY_ID: Final = re.compile(r"[0-9a-f]{16}")

# Keyring Secret entries holding a sealing key are named ``sealing-key.<id>``.
ENTRY_PREFIX: Final = "sealing-key."

_ID_DOMAIN: Final = b"envpayload.io/esv1 key id\x00"


class KeyFormatError(ValueError):
    """A key, a key entry or a published key is malformed; the message names where."""


def key_id_of(public: X25519PublicKey) -> str:
    """The id of a public key: 16 hex digits of a domain-separated SHA-256."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(_ID_DOMAIN + raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """The half of a sealing key that anyone may hold: what ``seal`` encrypts to."""

    id: str
    key: X25519PublicKey = field(repr=False, compare=False)

    @classmethod
    def of(cls, key: X25519PublicKey) -> PublicKey:
        return cls(key_id_of(key), key)

    @classmethod
    def from_pem(cls, pem: bytes) -> PublicKey:
        """Read a published key; raise :class:`KeyFormatError` unless it is an X25519 key."""
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError):
            raise KeyFormatError("not a PEM public key") from None
        if not isinstance(key, X25519PublicKey):
            raise KeyFormatError("not an X25519 public key (an envpayload sealing key)")
        return cls.of(key)

    def to_pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


@dataclass(frozen=True)
class SealingKey:
    """One of the operator's key pairs, as the keyring Secret stores it."""

    id: str
    created: datetime.datetime
    private: X25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def generate(cls, now: datetime.datetime) -> SealingKey:
        private = X25519PrivateKey.generate()
        # Whole seconds: the stored form keeps no more, and a key must read back equal.
        created = now.astimezone(datetime.UTC).replace(microsecond=0)
        return cls(key_id_of(private.public_key()), created, private)

    @property
    def public(self) -> PublicKey:
        return PublicKey.of(self.private.public_key())

    def to_entry(self) -> tuple[str, bytes]:
        """The keyring Secret entry (name, content) that stores this key."""
        raw = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        document = {
            "created": format_time(self.created),
            "privateKey": base64.b64encode(raw).decode("ascii"),
        }
        return f"{ENTRY_PREFIX}{self.id}", json.dumps(document, sort_keys=True).encode()

    @classmethod
    def from_entry(cls, name: str, content: bytes) -> SealingKey:
        """Read a keyring entry; raise :class:`KeyFormatError` naming the entry if malformed."""
        key_id = name.removeprefix(ENTRY_PREFIX)
        try:
            document = json.loads(content)
            raw = base64.b64decode(document["privateKey"], validate=True)
            private = X25519PrivateKey.from_private_bytes(raw)
            created = _parse_created(document["created"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise KeyFormatError(f"keyring entry {name} is not a sealing key") from None
        if key_id_of(private.public_key()) != key_id:
            raise KeyFormatError(f"keyring entry {name} holds a key with another id")
        return cls(key_id, created, private)


@dataclass(frozen=True)
class Keyset:
    """Every sealing key the operator holds, oldest first; the newest one seals."""

    keys: tuple[SealingKey, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(sorted(self.keys, key=lambda k: (k.created, k.id))))

    @classmethod
    def from_entries(cls, entries: Mapping[str, bytes]) -> Keyset:
        """The sealing keys among a keyring's entries (other entries are not ours)."""
        return cls(
            tuple(
                SealingKey.from_entry(name, content)
                for name, content in entries.items()
                if name.startswith(ENTRY_PREFIX)
            )
        )

    @property
    def active(self) -> SealingKey | None:
        """The key new envelopes are sealed with: the newest."""
        return self.keys[-1] if self.keys else None

    def find(self, key_id: str) -> SealingKey | None:
        return next((key for key in self.keys if key.id == key_id), None)

    def is_retired(self, key_id: str) -> bool:
        """True for a key this keyring holds that is no longer the active one."""
        active = self.active
        return active is not None and key_id != active.id and self.find(key_id) is not None

    def retired_at(self, key_id: str) -> datetime.datetime | None:
        """When a key stopped being active (its successor's creation), or None if it is not."""
        ids = [key.id for key in self.keys]
        if key_id not in ids or key_id == ids[-1]:
            return None
        return self.keys[ids.index(key_id) + 1].created

    def with_key(self, key: SealingKey) -> Keyset:
        return Keyset((*self.keys, key))

    def successor_time(self, now: datetime.datetime) -> datetime.datetime:
        """A creation time for a new key that sorts after every key held.

        Times are kept in whole seconds; two rotations within one second must still
        leave the newer key active.
        """
        active = self.active
        if active is None:
            return now
        return max(now, active.created + datetime.timedelta(seconds=1))


def _parse_created(text: str) -> datetime.datetime:
    """Read a time written by :func:`format_time`, strictly: the keyring is ours alone."""
    parsed = datetime.datetime.strptime(text, TIME_FORMAT)
    return parsed.replace(tzinfo=datetime.UTC)
