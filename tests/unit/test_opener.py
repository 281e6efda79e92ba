"""The operator's opener: the key by its id, old keys after rotation, new keys by reloading."""

from __future__ import annotations

import datetime
import re

import pytest

from envpayload.errors import EnvelopeError, UnknownKeyError
from envpayload.sealing.envelope import seal
from envpayload.sealing.keys import Keyset, SealingKey
from envpayload.sealing.opener import KeyringOpener

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
CANARY = "canary-R4nd0m-opener-value"
PAYLOAD = f"TOKEN={CANARY}\n".encode()


class Loader:
    """Stands in for the keyring Secret: returns whatever keyset it holds, counting reads."""

    def __init__(self, keyset: Keyset) -> None:
        self.keyset = keyset
        self.loads = 0

    def __call__(self) -> Keyset:
        self.loads += 1
        return self.keyset


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sealed_for(key: SealingKey, serial: int = 1) -> bytes:
    return seal(
        PAYLOAD, key.public, scope="strict", serial=serial, namespace="ns", name="app"
    ).encode()


def test_the_key_is_chosen_by_the_id_in_the_header() -> None:
    keys = [SealingKey.generate(T0 + n * DAY) for n in range(3)]
    opener = KeyringOpener(Keyset(tuple(keys)), Loader(Keyset()))

    for n, key in enumerate(keys):
        opened = opener.open(sealed_for(key, serial=n), "ns", "app")
        assert (opened.plaintext, opened.key_id, opened.serial) == (PAYLOAD, key.id, n)


def test_after_a_rotation_old_envelopes_still_open_marked_as_sealed_with_a_retired_key() -> None:
    old = SealingKey.generate(T0)
    envelope = sealed_for(old)
    opener = KeyringOpener(Keyset((old,)), Loader(Keyset()))
    assert not opener.open(envelope, "ns", "app").retired_key

    opener.update(opener.keyset.with_key(SealingKey.generate(T0 + 30 * DAY)))
    opened = opener.open(envelope, "ns", "app")

    assert opened.plaintext == PAYLOAD
    assert opened.retired_key


def test_an_unknown_key_id_gives_an_error_naming_it() -> None:
    stranger = SealingKey.generate(T0)
    opener = KeyringOpener(Keyset((SealingKey.generate(T0),)), Loader(Keyset()))

    with pytest.raises(UnknownKeyError, match=re.escape(stranger.id)) as caught:
        opener.open(sealed_for(stranger), "ns", "app")

    assert caught.value.key_id == stranger.id
    assert caught.value.reason == "UnknownSealingKey"
    assert CANARY not in str(caught.value)


def test_a_key_added_elsewhere_is_found_by_reloading_the_keyring() -> None:
    first = SealingKey.generate(T0)
    loader = Loader(Keyset((first,)))
    opener = KeyringOpener(Keyset((first,)), loader)

    # Another replica, or `envpayload keys rotate`, adds a key and seals with it.
    second = SealingKey.generate(T0 + DAY)
    loader.keyset = loader.keyset.with_key(second)
    opened = opener.open(sealed_for(second), "ns", "app")

    assert (opened.key_id, opened.retired_key) == (second.id, False)
    assert loader.loads == 1
    assert opener.keyset.active == second


def test_reloads_for_unknown_keys_are_spaced_out() -> None:
    loader, clock = Loader(Keyset()), Clock()
    opener = KeyringOpener(Keyset(), loader, min_reload_interval=2.0, clock=clock)
    strangers = [sealed_for(SealingKey.generate(T0)) for _ in range(3)]

    for envelope in strangers:
        with pytest.raises(UnknownKeyError):
            opener.open(envelope, "ns", "app")
    assert loader.loads == 1

    clock.now += 2.0
    with pytest.raises(UnknownKeyError):
        opener.open(strangers[0], "ns", "app")
    assert loader.loads == 2


def test_a_damaged_envelope_costs_no_reload() -> None:
    loader = Loader(Keyset())
    opener = KeyringOpener(Keyset(), loader)

    with pytest.raises(EnvelopeError):
        opener.open(b"esv1.garbage", "ns", "app")

    assert loader.loads == 0


def test_an_envelope_for_another_envpayload_is_refused_with_the_generic_error() -> None:
    key = SealingKey.generate(T0)
    opener = KeyringOpener(Keyset((key,)), Loader(Keyset()))

    with pytest.raises(EnvelopeError) as caught:
        opener.open(sealed_for(key), "ns", "another-app")

    assert type(caught.value) is EnvelopeError
    assert CANARY not in str(caught.value)
