"""A parsed payload: ordered keys whose values cannot be printed by accident.

Values travel through the pipeline wrapped in :class:`SecretValue`. Its ``repr``, ``str``
and ``format`` all say ``<redacted>``, so a value that slips into a log call, an f-string,
an exception or a dataclass ``repr`` shows nothing. Code that really needs the text (the
renderer, the sealer, fingerprints) asks for it with :meth:`SecretValue.reveal`, which is
easy to find in a review.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

REDACTED: Final = "<redacted>"

# What the apiserver accepts as a Secret key; matched with fullmatch, since `$` would also
# accept a trailing newline.
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_SECRET_KEY_MAX = 253


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a key of a Secret, or None when it can.

    A name that cannot be a key is never quoted in a message: python-dotenv takes almost
    any run of characters for a key, so it may be a fragment of a mangled value.
    """
    if len(key) > _SECRET_KEY_MAX:
        return f"is longer than {_SECRET_KEY_MAX} characters"
    if not _SECRET_KEY.fullmatch(key):
        return "may only contain letters, digits, '-', '_' and '.'"
    if key in (".", "..") or key.startswith(".."):
        return "may not be '.' or '..' or start with '..'"
    return None


class SecretValue:
    """One payload value; prints as ``<redacted>`` everywhere."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def reveal(self) -> str:
        """The value itself, for the few places that must write it somewhere safe."""
        return self._text

    def __len__(self) -> int:
        return len(self._text)

    def __bool__(self) -> bool:
        return bool(self._text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._text == self._text

    def __hash__(self) -> int:
        return hash(self._text)

    def __repr__(self) -> str:
        return f"SecretValue({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __reduce__(self) -> Any:
        # Pickling would write the value somewhere we cannot see; nothing needs it.
        raise TypeError("a SecretValue cannot be pickled")


@dataclass(frozen=True, repr=False)
class Payload(Mapping[str, SecretValue]):
    """Ordered, duplicate-free (key, value) pairs parsed from a ``.env`` text.

    ``text`` keeps the verbatim payload for ``target.fileKey``; like the values, it never
    appears in a ``repr``.
    """

    entries: tuple[tuple[str, SecretValue], ...]
    text: SecretValue = field(default_factory=lambda: SecretValue(""))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", dict(self.entries))

    @classmethod
    def from_plain(cls, values: Mapping[str, str], text: str = "") -> Payload:
        """Build a payload from plain strings (for tests and the command line)."""
        return cls(tuple((k, SecretValue(v)) for k, v in values.items()), SecretValue(text))

    def __getitem__(self, key: str) -> SecretValue:
        index: dict[str, SecretValue] = object.__getattribute__(self, "_index")
        return index[key]

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Payload(keys={list(self)!r})"

    def size(self) -> int:
        """Bytes the values take in a Secret (the 1 MiB limit counts values, UTF-8)."""
        return sum(len(value.reveal().encode()) for _, value in self.entries)
