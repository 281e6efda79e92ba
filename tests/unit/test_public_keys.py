"""The published form of the keyring: public halves and dates only, readable back."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from cryptography.hazmat.primitives import serialization

from envpayload.publickeys import (
    ACTIVE_ENTRY,
    LIST_ENTRY,
    PublicKeysError,
    published_data,
    read_published,
)
from envpayload.sealing.keys import Keyset, PublicKey, SealingKey

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def keyset() -> Keyset:
    return Keyset(tuple(SealingKey.generate(T0 + n * 30 * DAY) for n in range(3)))


def test_the_active_key_is_published_as_pem_and_every_key_is_listed_newest_first(
    keyset: Keyset,
) -> None:
    data = published_data(keyset)

    assert keyset.active is not None
    assert PublicKey.from_pem(data[ACTIVE_ENTRY].encode()).id == keyset.active.id
    listed = read_published(data)
    assert [k.id for k in listed] == [k.id for k in reversed(keyset.keys)]
    assert [k.retired for k in listed] == [None, "2026-03-02T00:00:00Z", "2026-01-31T00:00:00Z"]
    assert listed[-1].created == "2026-01-01T00:00:00Z"


def test_nothing_private_is_published(keyset: Keyset) -> None:
    published = json.dumps(published_data(keyset))

    for key in keyset.keys:
        raw = key.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw), raw.hex().encode()):
            assert encoded.decode().rstrip("=") not in published


def test_publishing_the_same_keys_twice_gives_the_same_data(keyset: Keyset) -> None:
    # The upkeep compares before writing: an unchanged keyring must publish unchanged data.
    assert published_data(keyset) == published_data(Keyset(tuple(reversed(keyset.keys))))


def test_a_damaged_list_is_reported_by_name() -> None:
    with pytest.raises(PublicKeysError, match=LIST_ENTRY):
        read_published({LIST_ENTRY: "[{}]"})
    with pytest.raises(PublicKeysError, match=LIST_ENTRY):
        read_published({})
