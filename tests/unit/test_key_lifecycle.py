"""When keys rotate and when a retired key may be deleted: conservative by construction."""

from __future__ import annotations

import datetime

import pytest

from envpayload.sealing.keys import Keyset, SealingKey
from envpayload.sealing.lifecycle import KeyUsage, keys_to_delete, next_rotation, rotation_due

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
PERIOD = 30 * DAY
RETENTION = 90 * DAY


@pytest.fixture
def keyset() -> Keyset:
    """Keys made on days 0, 30, 60 and 200: the first three are retired."""
    return Keyset(tuple(SealingKey.generate(T0 + days * DAY) for days in (0, 30, 60, 200)))


def ids(keyset: Keyset, *indexes: int) -> tuple[str, ...]:
    return tuple(keyset.keys[i].id for i in indexes)


def test_rotation_is_due_without_any_key() -> None:
    assert rotation_due(Keyset(), T0, PERIOD)
    assert next_rotation(Keyset(), PERIOD) is None


def test_rotation_falls_due_when_the_active_key_reaches_the_period() -> None:
    keyset = Keyset((SealingKey.generate(T0),))

    assert not rotation_due(keyset, T0 + PERIOD - datetime.timedelta(seconds=1), PERIOD)
    assert rotation_due(keyset, T0 + PERIOD, PERIOD)
    assert next_rotation(keyset, PERIOD) == T0 + PERIOD


def test_retired_unused_keys_past_retention_are_deleted(keyset: Keyset) -> None:
    now = T0 + 300 * DAY

    assert keys_to_delete(keyset, KeyUsage(), now, RETENTION) == ids(keyset, 0, 1, 2)


def test_the_active_key_is_never_deleted(keyset: Keyset) -> None:
    now = T0 + 10_000 * DAY

    assert keyset.keys[-1].id not in keys_to_delete(keyset, KeyUsage(), now, RETENTION)


def test_a_key_is_kept_until_it_has_been_retired_for_the_retention_period(keyset: Keyset) -> None:
    # Key 0 retired on day 30, key 1 on day 60, key 2 on day 200.
    assert keys_to_delete(keyset, KeyUsage(), T0 + 119 * DAY, RETENTION) == ()
    assert keys_to_delete(keyset, KeyUsage(), T0 + 120 * DAY, RETENTION) == ids(keyset, 0)
    assert keys_to_delete(keyset, KeyUsage(), T0 + 150 * DAY, RETENTION) == ids(keyset, 0, 1)


def test_a_key_that_an_envpayload_uses_is_kept(keyset: Keyset) -> None:
    usage = KeyUsage(users={keyset.keys[1].id: frozenset({"prod/app"})})

    assert keys_to_delete(keyset, usage, T0 + 300 * DAY, RETENTION) == ids(keyset, 0, 2)


def test_nothing_is_deleted_when_an_envpayload_is_not_in_sync(keyset: Keyset) -> None:
    usage = KeyUsage(unsettled=("prod/app",))

    assert keys_to_delete(keyset, usage, T0 + 300 * DAY, RETENTION) == ()


def test_nothing_is_deleted_when_the_envpayloads_could_not_be_listed(keyset: Keyset) -> None:
    usage = KeyUsage(error="listing EnvPayloads failed: HTTP 403 Forbidden")

    assert keys_to_delete(keyset, usage, T0 + 300 * DAY, RETENTION) == ()


def test_without_a_retention_period_retired_keys_are_kept_forever(keyset: Keyset) -> None:
    assert keys_to_delete(keyset, KeyUsage(), T0 + 10_000 * DAY, None) == ()


def test_a_single_key_is_never_deleted() -> None:
    keyset = Keyset((SealingKey.generate(T0),))

    assert keys_to_delete(keyset, KeyUsage(), T0 + 10_000 * DAY, DAY) == ()
