"""Which wake-ups count as news that cuts a rollout's watch short, and which are echoes."""

from __future__ import annotations

import pytest

from envpayload.controller.worker import Wakeup, Wakeups


def synced_at(version: str) -> Wakeup:
    wakeup = Wakeup()
    wakeup.synced(version)
    return wakeup


def test_a_source_version_other_than_the_synced_one_is_news() -> None:
    wakeup = synced_at("rv:10")

    wakeup.wake("source Secret app-env changed", version="rv:11")

    assert wakeup.newer.is_set()
    assert wakeup.event.is_set()


def test_the_replay_of_the_synced_version_is_not_news() -> None:
    # Kopf replays every Secret when it starts or restarts a watch.
    wakeup = synced_at("rv:10")

    wakeup.wake("source Secret app-env changed", version="rv:10")

    assert not wakeup.newer.is_set()
    assert wakeup.event.is_set()  # it still wakes the loop, which finds nothing to do


def test_the_echo_of_the_operators_own_write_is_not_news() -> None:
    wakeup = synced_at("rv:10")

    wakeup.wake("target Secret app changed")

    assert not wakeup.newer.is_set()


def test_a_credentials_secret_is_not_news_for_a_github_source() -> None:
    wakeup = synced_at("blob:3f9a")

    wakeup.wake("source Secret github-token changed", version="rv:12")

    assert not wakeup.newer.is_set()


def test_a_new_spec_is_news() -> None:
    wakeup = synced_at("rv:10")

    wakeup.wake("spec changed", newer=True)

    assert wakeup.newer.is_set()


def test_a_version_announced_during_the_sync_that_fetched_it_is_not_news() -> None:
    wakeup = synced_at("rv:10")
    wakeup.take()

    wakeup.wake("source Secret app-env changed", version="rv:11")  # while syncing rv:11
    wakeup.synced("rv:11")

    assert not wakeup.newer.is_set()


def test_taking_the_wake_ups_forgets_them() -> None:
    wakeup = synced_at("rv:10")
    wakeup.wake("spec changed", newer=True)
    wakeup.wake("source Secret app-env changed", version="rv:11")

    assert wakeup.take() == {"spec changed", "source Secret app-env changed"}
    assert not wakeup.newer.is_set()
    assert not wakeup.event.is_set()


def test_the_echo_of_the_loops_own_write_does_not_wake_it() -> None:
    wakeups = Wakeups()
    wakeup = wakeups.register("shop", "app")
    wakeup.wrote("rv:20")

    assert wakeups.wake("shop", "app", "target Secret app changed", target_version="rv:20")
    assert not wakeup.event.is_set()


def test_an_echo_that_comes_before_the_sync_is_done_is_forgotten() -> None:
    # The watch event can beat the sync back to the event loop.
    wakeup = Wakeup()
    wakeup.wake("target Secret app changed", target_version="rv:20")

    wakeup.wrote("rv:20")

    assert not wakeup.event.is_set()
    assert wakeup.take() == set()


def test_an_echo_does_not_swallow_other_news_that_came_with_it() -> None:
    wakeup = Wakeup()
    wakeup.wake("target Secret app changed", target_version="rv:20")
    wakeup.wake("source Secret app-env changed", version="rv:21")

    wakeup.wrote("rv:20")

    assert wakeup.event.is_set()
    assert "source Secret app-env changed" in wakeup.take()


@pytest.mark.parametrize("version", ["rv:21", "deleted"])
def test_any_other_change_of_the_target_wakes_the_loop(version: str) -> None:
    # Someone edited, replaced or deleted the Secret the loop wrote: it must be put right.
    wakeup = Wakeup()
    wakeup.wrote("rv:20")
    wakeup.wake("target Secret app changed", target_version=version)

    wakeup.wrote("rv:20")  # even when the loop's own write is noted again

    assert wakeup.take() == {"target Secret app changed"}


def test_a_loop_that_never_wrote_is_woken_by_its_target() -> None:
    wakeups = Wakeups()
    wakeup = wakeups.register("shop", "app")

    wakeups.wake("shop", "app", "target Secret app changed", target_version="rv:20")

    assert wakeup.event.is_set()
