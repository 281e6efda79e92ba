"""The ``esv1.`` envelope: one ASCII line that only the operator can open, only where allowed.

::

    esv1.<header>.<ciphertext>

Both parts are unpadded base64url. The header is canonical JSON with exactly four
fields, ``{"kid":"<key id>","len":<n>,"scope":"strict","serial":<n>}``: which operator
key opens it, how many bytes of ciphertext follow (so a cut anywhere is refused before
any cryptography), where it may be opened, and a serial that only grows (replay
protection). The ciphertext is HPKE (RFC 9180) base mode, X25519 + HKDF-SHA256 +
AES-256-GCM, from the ``cryptography`` package: a fresh ephemeral key per envelope, so
there is no nonce to manage, and 48 bytes of overhead.

HPKE's ``info`` binds the ciphertext to its context: the exact header text, and, as the
scope asks, the namespace and name of the EnvPayload being reconciled. Changing one
character of the header (a scope widened from strict to cluster, another serial or key
id) or opening the envelope for another EnvPayload changes ``info``, and decryption
fails. The namespace and name always come from the object being reconciled, never from
the envelope, so there is nothing in it to forge.

Opening is strict in the order that keeps forgeries cheap to refuse: sizes first, then
the exact shape and canonical encoding of every part, and only then any cryptography.
Every failure gives the same :class:`EnvelopeError` message, so a forger learns nothing
about which part was wrong. The one distinct error is an unknown key id, which only
repeats what the header already says in clear.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from envpayload.errors import EnvelopeError
from envpayload.sealing import ENVELOPE_PREFIX
from envpayload.sealing.keys import KEY_ID, PublicKey

Scope = Literal["strict", "namespace", "cluster"]
SCOPES: Final[tuple[Scope, ...]] = get_args(Scope)

# A Secret holds at most 1 MiB of values; a payload's text adds key names and quoting.
MAX_PLAINTEXT: Final = 1024 * 1024 + 64 * 1024
# The CRD's maxLength for spec.source.inline.sealed; the largest plaintext fits within it.
MAX_ENVELOPE: Final = 1_500_000
MAX_HEADER: Final = 128
# An envelope without leading whitespace has its whole header within this many characters.
HEADER_SPAN: Final = len(ENVELOPE_PREFIX) + MAX_HEADER + 1
# Serials must survive every JSON reader on the way (status, kubectl, JavaScript UIs).
MAX_SERIAL: Final = 2**53 - 1

HPKE_OVERHEAD: Final = 48  # the encapsulated X25519 key (32) and the GCM tag (16)
SUITE: Final = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)

OPEN_FAILED: Final = (
    "the sealed envelope could not be opened: it is damaged, or it was sealed for "
    "another EnvPayload, namespace or operator; seal the payload again for this one"
)

_INFO_DOMAIN: Final = b"envpayload.io/esv1"
_SEPARATOR: Final = b"."
_B64URL: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_WHITESPACE: Final = b" \t\r\n"


def _b64_length(size: int) -> int:
    """Characters of unpadded base64 for ``size`` bytes."""
    return (size * 4 + 2) // 3


@dataclass(frozen=True)
class Header:
    """The clear part of an envelope; authenticated, because it is bound into ``info``."""

    key_id: str
    scope: Scope
    serial: int
    length: int  # bytes of ciphertext (HPKE's encapsulated key, ciphertext and tag)

    def encode(self) -> bytes:
        """The one canonical form: sorted keys, no spaces."""
        fields = {
            "kid": self.key_id,
            "len": self.length,
            "scope": self.scope,
            "serial": self.serial,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True)
class Envelope:
    """An envelope whose structure passed every check; not yet authenticated."""

    header: Header
    header_segment: bytes
    ciphertext: bytes = field(repr=False)


def seal(
    plaintext: bytes,
    key: PublicKey,
    *,
    scope: Scope,
    serial: int,
    namespace: str = "",
    name: str = "",
) -> str:
    """Seal ``plaintext`` for the EnvPayload ``namespace``/``name`` (as far as ``scope`` binds).

    Raises ValueError for arguments that would make an envelope nobody can open.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if scope in ("strict", "namespace") and not namespace:
        raise ValueError(f"scope {scope} needs the namespace the envelope is for")
    if scope == "strict" and not name:
        raise ValueError("scope strict needs the name of the EnvPayload the envelope is for")
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"the serial must be between 0 and {MAX_SERIAL}")
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(
            f"the payload is {len(plaintext)} bytes, over the limit of {MAX_PLAINTEXT}"
        )

    header = Header(key.id, scope, serial, length=len(plaintext) + HPKE_OVERHEAD)
    header_segment = _b64encode(header.encode())
    info = _info(header_segment, scope, namespace, name)
    ciphertext = SUITE.encrypt(plaintext, key.key, info=info)
    assert len(ciphertext) == header.length, "HPKE's overhead is not what the header says"
    return b".".join((ENVELOPE_PREFIX[:-1], header_segment, _b64encode(ciphertext))).decode()


def parse_envelope(content: bytes) -> Envelope:
    """Check an envelope's size, shape and encoding; no key and no cryptography involved."""
    text = content.strip(_WHITESPACE)
    if len(text) > MAX_ENVELOPE or not text.startswith(ENVELOPE_PREFIX):
        raise EnvelopeError(OPEN_FAILED)

    parts = text[len(ENVELOPE_PREFIX) :].split(_SEPARATOR)
    if len(parts) != 2:
        raise EnvelopeError(OPEN_FAILED)
    header_segment, body_segment = parts
    if len(header_segment) > MAX_HEADER:
        raise EnvelopeError(OPEN_FAILED)

    header = _decode_header(_b64decode(header_segment))
    # Canonical base64 has one length per byte count: a body cut short (or lengthened)
    # anywhere no longer matches the header's length, itself checked within bounds.
    if len(body_segment) != _b64_length(header.length):
        raise EnvelopeError(OPEN_FAILED)
    return Envelope(header, header_segment, _b64decode(body_segment))


def read_header(content: bytes) -> Header:
    """The header of an envelope, for tools and for counting key use (not authenticated).

    Only the clear part is read: the ciphertext is neither decoded nor checked, so the
    operator can count which keys a thousand large envelopes use without decoding them.
    """
    # Indexes, not slices: nothing of a megabyte-long ciphertext is copied.
    start = len(content) - len(content.lstrip(_WHITESPACE)) if content[:1].isspace() else 0
    if not content.startswith(ENVELOPE_PREFIX, start):
        raise EnvelopeError(OPEN_FAILED)
    start += len(ENVELOPE_PREFIX)
    end = content.find(_SEPARATOR, start, start + MAX_HEADER + 1)
    if end < 0:
        raise EnvelopeError(OPEN_FAILED)
    return _decode_header(_b64decode(content[start:end]))


def decrypt(envelope: Envelope, private: X25519PrivateKey, namespace: str, name: str) -> bytes:
    """Open ``envelope`` for the EnvPayload ``namespace``/``name`` being reconciled."""
    header = envelope.header
    info = _info(envelope.header_segment, header.scope, namespace, name)
    try:
        return SUITE.decrypt(envelope.ciphertext, private, info=info)
    except (InvalidTag, ValueError):
        raise EnvelopeError(OPEN_FAILED) from None


def _info(header_segment: bytes, scope: Scope, namespace: str, name: str) -> bytes:
    """HPKE ``info``: the exact header text and, per scope, where the envelope may open."""
    where = {"strict": (namespace, name), "namespace": (namespace,), "cluster": ()}[scope]
    parts = (_INFO_DOMAIN, header_segment, *(part.encode() for part in where))
    # Length-prefixed, so no two different contexts can produce the same bytes.
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _decode_header(raw: bytes) -> Header:
    try:
        fields = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EnvelopeError(OPEN_FAILED) from None
    if not isinstance(fields, dict) or set(fields) != {"kid", "len", "scope", "serial"}:
        raise EnvelopeError(OPEN_FAILED)

    key_id, length = fields["kid"], fields["len"]
    scope, serial = fields["scope"], fields["serial"]
    if not (
        isinstance(key_id, str)
        and KEY_ID.fullmatch(key_id)
        and type(length) is int
        and HPKE_OVERHEAD <= length <= MAX_PLAINTEXT + HPKE_OVERHEAD
        and scope in SCOPES
        and type(serial) is int
        and 0 <= serial <= MAX_SERIAL
    ):
        raise EnvelopeError(OPEN_FAILED)
    header = Header(key_id, scope, serial, length)

    # One envelope, one spelling: reordered fields, spaces, escapes or leading zeros are
    # refused, so an envelope's text is a faithful identity (the inline version marker).
    if header.encode() != raw:
        raise EnvelopeError(OPEN_FAILED)
    return header


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(segment: bytes) -> bytes:
    """Strict, canonical unpadded base64url: one spelling per byte string."""
    # translate() drops every alphabet character: anything left is not base64url. (Much
    # faster than a regular expression on a megabyte.)
    if segment.translate(None, _B64URL) or len(segment) % 4 == 1:
        raise EnvelopeError(OPEN_FAILED)
    # The last character of a partial group carries bits beyond the data; a canonical
    # encoder leaves them zero, and a lenient decoder would ignore them.
    unused_bits = {0: 0, 2: 4, 3: 2}[len(segment) % 4]
    if unused_bits and _B64URL.index(segment[-1]) & ((1 << unused_bits) - 1):
        raise EnvelopeError(OPEN_FAILED)
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
