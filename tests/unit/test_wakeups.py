"""Which wake-ups count as news that cuts a rollout's watch short, and which are echoes."""

from __future__ import annotations

from envpayload.controller.worker import Wakeup


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
