"""The RotationDue condition, computed from lastChangeTime and rotation.maxAge."""

from __future__ import annotations

import datetime

from envpayload.report import rotation

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
DAYS_90 = datetime.timedelta(days=90)


def status(last_change: str) -> dict[str, object]:
    return {"lastChangeTime": last_change, "conditions": [{"type": "Ready", "status": "True"}]}


def test_a_payload_older_than_max_age_is_due_for_rotation() -> None:
    result = rotation.with_rotation(status("2026-01-01T00:00:00Z"), DAYS_90, 3, NOW)

    due = rotation.condition(result)
    assert due["status"] == "True"
    assert due["reason"] == "MaxAgeExceeded"
    assert "2026-01-01T00:00:00Z" in due["message"]
    assert "rotation.maxAge (90d)" in due["message"]
    assert rotation.known_overdue(result)


def test_a_recent_change_is_within_max_age() -> None:
    result = rotation.with_rotation(status("2026-05-01T00:00:00Z"), DAYS_90, 3, NOW)

    assert rotation.condition(result)["status"] == "False"
    assert not rotation.known_overdue(result)


def test_the_condition_does_not_change_as_the_payload_ages() -> None:
    # A status write per refresh would be an API write per EnvPayload every few minutes.
    first = rotation.with_rotation(status("2026-01-01T00:00:00Z"), DAYS_90, 3, NOW)
    later = rotation.with_rotation(first, DAYS_90, 3, NOW + datetime.timedelta(days=5))

    assert later == first


def test_a_status_without_last_change_gets_no_condition() -> None:
    assert rotation.with_rotation({}, DAYS_90, 1, NOW) == {}


def test_durations_and_ages_read_naturally() -> None:
    assert rotation.describe_duration(DAYS_90) == "90d"
    assert rotation.describe_duration(datetime.timedelta(hours=36)) == "36h"
    assert rotation.describe_duration(datetime.timedelta(seconds=90)) == "90s"
    assert rotation.describe_age(datetime.timedelta(days=97, hours=3)) == "97 days"
    assert rotation.describe_age(datetime.timedelta(minutes=12)) == "12 minutes"
    assert rotation.describe_age(datetime.timedelta(seconds=70)) == "70 seconds"
    assert rotation.describe_age(datetime.timedelta(seconds=1.5)) == "1 second"
    assert rotation.describe_age(datetime.timedelta(milliseconds=300)) == "less than a second"
