"""Times and conditions: written one way, read back the same way everywhere."""

from __future__ import annotations

import datetime

import pytest

from envpayload.conventions import find_condition, format_time, parse_time


def test_a_time_is_written_in_utc_with_whole_seconds() -> None:
    moment = datetime.datetime(
        2026, 3, 1, 13, 30, 5, 999_000, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )

    assert format_time(moment) == "2026-03-01T12:30:05Z"


def test_a_written_time_reads_back_as_the_same_moment() -> None:
    moment = datetime.datetime(2026, 3, 1, 12, 30, 5, tzinfo=datetime.UTC)

    assert parse_time(format_time(moment)) == moment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)),
        ("2026-01-01T01:00:00+01:00", datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)),
        ("2026-01-01T00:00:00", datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1767225600, None),
    ],
)
def test_a_time_edited_into_status_by_hand_reads_or_is_none(
    text: object, expected: datetime.datetime | None
) -> None:
    assert parse_time(text) == expected


def test_a_condition_is_found_by_type_and_a_missing_one_is_empty() -> None:
    status = {"conditions": [{"type": "Ready", "status": "True"}, {"type": "RotationDue"}]}

    assert find_condition(status, "Ready") == {"type": "Ready", "status": "True"}
    assert find_condition(status, "RolledOut") == {}
    assert find_condition({}, "Ready") == {}
    assert find_condition(None, "Ready") == {}
    assert find_condition({"conditions": None}, "Ready") == {}
