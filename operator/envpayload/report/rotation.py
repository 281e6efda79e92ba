"""Rotation age: has a payload gone unchanged for longer than ``spec.rotation.maxAge``?

Credentials rotate quarterly (``maxAge`` defaults to 90 days). The age is measured from
``status.lastChangeTime``, which moves only when the Secret's content really changes, so
re-syncing the same content does not reset it. The answer is kept in a ``RotationDue``
condition: people see it in ``kubectl describe``, and an operator that restarts can tell
from status that an overdue payload was already known (and alerted on) before.

Pure functions only: the clock is always passed in.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Final

from envpayload.conventions import find_condition, parse_time
from envpayload.report.status import Status, set_condition

CONDITION: Final = "RotationDue"
OVERDUE: Final = "MaxAgeExceeded"
WITHIN: Final = "WithinMaxAge"


def describe_duration(duration: datetime.timedelta) -> str:
    """``90d``, ``36h``, ``15m`` or ``45s``: the largest unit that divides it evenly."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe_age(age: datetime.timedelta) -> str:
    """A rounded age for people: ``97 days``, ``5 hours``, ``12 minutes``, ``30 seconds``."""
    seconds = int(age.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size} {unit}s"
    if seconds < 1:
        return "less than a second"  # a fix that lands at once: "0 seconds" reads as a bug
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def is_overdue(
    last_change: datetime.datetime | None, max_age: datetime.timedelta, now: datetime.datetime
) -> bool:
    """True when the payload last changed longer than ``max_age`` ago."""
    return last_change is not None and now - last_change > max_age


def condition(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``RotationDue`` condition in ``status``, or an empty mapping."""
    return find_condition(status, CONDITION)


def known_overdue(status: Mapping[str, Any]) -> bool:
    """True when ``status`` already says the payload is overdue for rotation."""
    return condition(status).get("status") == "True"


def with_rotation(
    status: Mapping[str, Any],
    max_age: datetime.timedelta,
    generation: int,
    now: datetime.datetime,
) -> Status:
    """``status`` with its ``RotationDue`` condition set from ``lastChangeTime``.

    The message names times and the limit, never the current age, so it stays the same
    from one refresh to the next and a refresh that finds nothing new writes nothing.
    """
    result: Status = dict(status)
    last_change_text = status.get("lastChangeTime")
    last_change = parse_time(last_change_text)
    if last_change is None:
        return result

    limit = describe_duration(max_age)
    if is_overdue(last_change, max_age, now):
        state, reason = "True", OVERDUE
        message = (
            f"the payload last changed at {last_change_text}, longer ago than "
            f"rotation.maxAge ({limit}); rotate its credentials"
        )
    else:
        state, reason = "False", WITHIN
        message = f"the payload changed within rotation.maxAge ({limit})"
    result["conditions"] = set_condition(
        status.get("conditions") or (),
        type=CONDITION,
        status=state,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    return result
