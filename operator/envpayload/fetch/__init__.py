"""Step 1 of the pipeline: read a payload's raw bytes and a version marker from its source.

Each source kind has a module of its own behind the small :class:`Fetcher` protocol, so
the reconciler never knows where bytes come from and a test can put a real local server
behind any of them. The bytes may still be sealed: opening them is the next step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from envpayload.spec import Source


@dataclass(frozen=True)
class Fetched:
    """Raw payload bytes as the source holds them, and what version they are."""

    content: bytes = field(repr=False)
    version: str
    where: str


class Fetcher(Protocol):
    """Reads one kind of source for an EnvPayload in ``namespace``."""

    def fetch(self, namespace: str, source: Source) -> Fetched: ...
