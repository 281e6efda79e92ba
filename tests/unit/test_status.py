"""Status moves only when something happened, so a quiet refresh writes nothing."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from envpayload.errors import PayloadError
from envpayload.reconcile import former_targets
from envpayload.report.status import Synced, failed_status, is_ready, synced_status

T0 = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(minutes=5)


def synced(
    version: str = "rv:1", written: bool = True, changed: tuple[str, ...] = ("A",)
) -> Synced:
    return Synced(
        source_kind="secretRef",
        source_version=version,
        secret_name="app",
        keys=("A", "B"),
        written=written,
        changed_keys=changed,
    )


def test_a_first_sync_reports_keys_times_and_ready() -> None:
    status = synced_status(None, synced(), generation=1, now=T0)
    assert is_ready(status)
    assert status["keys"] == ["A", "B"]
    assert status["keyCount"] == 2
    assert status["lastSyncTime"] == status["lastChangeTime"] == "2026-12-01T12:00:00Z"
    assert status["observedGeneration"] == 1


def test_a_refresh_that_finds_nothing_new_produces_the_same_status() -> None:
    first = synced_status(None, synced(), generation=1, now=T0)
    again = synced_status(first, synced(written=False, changed=()), generation=1, now=T1)
    assert again == first


def test_a_new_source_version_moves_the_sync_time_but_not_the_change_time() -> None:
    first = synced_status(None, synced(), generation=1, now=T0)
    touched = synced_status(
        first, synced(version="rv:2", written=False, changed=()), generation=1, now=T1
    )
    assert touched["lastSyncTime"] == "2026-12-01T12:05:00Z"
    assert touched["lastChangeTime"] == "2026-12-01T12:00:00Z"
    assert touched["sourceVersion"] == "rv:2"


def test_a_failure_keeps_the_last_good_facts_and_says_why() -> None:
    good = synced_status(None, synced(), generation=1, now=T0)
    failed = failed_status(good, PayloadError(["line 3: the statement does not parse"]), 2, T1)
    ready = failed["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "InvalidPayload")
    assert ready["message"] == "line 3: the statement does not parse"
    assert ready["lastTransitionTime"] == "2026-12-01T12:05:00Z"
    assert failed["keys"] == ["A", "B"]
    assert failed["observedGeneration"] == 2


def test_the_transition_time_moves_only_when_the_status_flips() -> None:
    good = synced_status(None, synced(), generation=1, now=T0)
    failed = failed_status(good, PayloadError(["line 1: x"]), 1, T1)
    failed_again = failed_status(
        failed, PayloadError(["line 2: y"]), 1, T1 + datetime.timedelta(hours=1)
    )
    assert failed_again["conditions"][0]["lastTransitionTime"] == "2026-12-01T12:05:00Z"
    recovered = synced_status(
        failed_again, synced(written=False, changed=()), 1, T1 + datetime.timedelta(hours=2)
    )
    assert recovered["conditions"][0]["lastTransitionTime"] == "2026-12-01T14:05:00Z"
    assert recovered["lastSyncTime"] == "2026-12-01T14:05:00Z"


def test_former_targets_still_kept_are_listed_and_vanish_when_let_go() -> None:
    kept = dataclasses.replace(synced(), former_secret_names=("old-env",))

    status = synced_status(None, kept, generation=1, now=T0)
    assert status["formerSecretNames"] == ["old-env"]
    assert "formerSecretNames" not in synced_status(status, synced(), generation=1, now=T1)


@pytest.mark.parametrize(
    ("status", "target", "former"),
    [
        ({}, "app", []),
        ({"secretName": "app"}, "app", []),
        ({"secretName": "old"}, "app", ["old"]),
        ({"secretName": "app", "formerSecretNames": ["older"]}, "app", ["older"]),
        ({"secretName": "old", "formerSecretNames": ["older", "app", 7]}, "app", ["old", "older"]),
    ],
)
def test_former_targets_come_from_the_last_target_and_those_still_kept(
    status: dict[str, Any], target: str, former: list[str]
) -> None:
    # A target renamed back to a former name is the target again, not a former one.
    assert former_targets(status, target) == former
