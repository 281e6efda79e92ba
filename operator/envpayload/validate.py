"""Validation of a parsed payload against the rules of a Secret and of the EnvPayload.

All-or-nothing: :func:`validate_payload` either returns (with warnings worth telling
the user) or raises one :class:`ValidationError` listing every problem by key name, and
the caller then changes nothing in the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from envpayload.errors import ValidationError
from envpayload.payload import Payload, secret_key_problem

# The apiserver's limit for the values of one Secret together.
SECRET_SIZE_LIMIT: Final = 1024 * 1024

# What every shell and every Kubernetes release accepts as an environment variable name.
_PORTABLE_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Rules:
    """What an EnvPayload asks of its payload (``spec.validation`` and ``target``)."""

    required: Sequence[str] = ()
    allow_empty: bool = True
    file_key: str | None = None


@dataclass(frozen=True)
class Report:
    """A payload that passed, with what is worth knowing about it."""

    keys: tuple[str, ...]
    size: int
    not_env_names: tuple[str, ...] = field(default=())

    @property
    def warnings(self) -> tuple[str, ...]:
        if not self.not_env_names:
            return ()
        names = ", ".join(self.not_env_names)
        return (f"keys not usable as environment variables with envFrom: {names}",)


def validate_payload(payload: Payload, rules: Rules) -> Report:
    """Check ``payload`` against ``rules``; raise :class:`ValidationError` on any problem."""
    problems: list[str] = []

    for index, key in enumerate(payload, start=1):
        why = secret_key_problem(key)
        if why is not None:
            # An invalid name is not quoted: it may be a fragment of a mangled value.
            problems.append(f"key number {index} is not a valid Secret key: it {why}")

    missing = [key for key in rules.required if key not in payload]
    if missing:
        problems.append(f"required keys are missing: {', '.join(missing)}")

    if not rules.allow_empty:
        # Only valid names are shown: the others were reported above, unquoted.
        empty = [key for key, value in payload.items() if not value and not secret_key_problem(key)]
        if empty:
            problems.append(f"keys have empty values: {', '.join(empty)}")

    size = payload.size()
    if rules.file_key is not None:
        if rules.file_key in payload:
            problems.append(f"target.fileKey {rules.file_key} is also a key of the payload")
        size += len(payload.text.reveal().encode())
    if size > SECRET_SIZE_LIMIT:
        problems.append(
            f"the Secret would hold {size} bytes, over the limit of {SECRET_SIZE_LIMIT}"
        )

    if problems:
        raise ValidationError(problems)

    not_env = tuple(key for key in payload if not _PORTABLE_ENV_NAME.fullmatch(key))
    return Report(keys=tuple(payload), size=size, not_env_names=not_env)
