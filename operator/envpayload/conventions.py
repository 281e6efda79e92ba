"""The Kubernetes API conventions every status, key and alert the operator writes follows.

Times are RFC 3339 in UTC with whole seconds (``2026-01-31T12:00:00Z``), as the
apiserver writes a ``metav1.Time``; conditions are a list keyed by ``type``. Kept in one
place so a status written by one part of the operator reads the same in every other.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Final

TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


def format_time(moment: datetime.datetime) -> str:
    """``moment`` as the apiserver writes times: UTC, whole seconds."""
    return moment.astimezone(datetime.UTC).strftime(TIME_FORMAT)


def parse_time(text: object) -> datetime.datetime | None:
    """A time read back from status (written by us or edited by hand), or None.

    Lenient on purpose: a status is user-editable, and a time it cannot read must not
    stop a sync; fractional seconds and offsets are accepted too.
    """
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def find_condition(status: Mapping[str, Any] | None, type: str) -> Mapping[str, Any]:
    """The condition of ``type`` in ``status``, or an empty mapping when it has none."""
    conditions = (status or {}).get("conditions") or ()
    return next((c for c in conditions if c.get("type") == type), {})
