"""Step 2 of the pipeline: open a sealed envelope, when the bytes are one.

A payload may be stored where anyone can read it (in git, in the EnvPayload, in a CI
artifact) as an ``esv1.`` envelope that only this operator can open, and only for the
EnvPayload it was sealed for. Plain ``.env`` bytes pass through unchanged; whether plain
text is acceptable is the source's decision, not this step's.

Everything here is pure (no API calls; a contract in pyproject.toml says so):
``envelope`` is the format, ``keys`` the key pairs and their stored and published forms,
``lifecycle`` the rotation and deletion decisions, ``opener`` the operator's opener. The
keyring Secret that holds the keys is read and written by ``envpayload.keyring``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Protocol

ENVELOPE_PREFIX: Final = b"esv1."


def is_sealed(content: bytes) -> bool:
    """True when ``content`` is an envelope (surrounding whitespace allowed)."""
    return content.strip().startswith(ENVELOPE_PREFIX)


@dataclass(frozen=True)
class Opened:
    """The plaintext of an envelope, with the key that opened it and its serial."""

    plaintext: bytes = field(repr=False)
    key_id: str
    serial: int
    retired_key: bool = False


class Opener(Protocol):
    """Opens envelopes for the EnvPayload ``namespace``/``name`` being reconciled."""

    def open(self, envelope: bytes, namespace: str, name: str) -> Opened: ...
