"""Sealing keys: ids derived from the public half, stored and published forms, the keyset."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from envpayload.sealing.keys import (
    ENTRY_PREFIX,
    KEY_ID,
    KeyFormatError,
    Keyset,
    PublicKey,
    SealingKey,
    key_id_of,
)

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def private_text(key: SealingKey) -> str:
    raw = key.private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def test_a_key_id_is_16_hex_digits_derived_from_the_public_key() -> None:
    key = SealingKey.generate(T0)

    assert KEY_ID.fullmatch(key.id)
    assert key.id == key_id_of(key.private.public_key())
    assert key.id != SealingKey.generate(T0).id


def test_the_published_pem_reads_back_as_the_same_key_and_id() -> None:
    key = SealingKey.generate(T0)

    pem = key.public.to_pem()

    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert PublicKey.from_pem(pem.encode()).id == key.id


def test_a_pem_that_is_not_an_x25519_public_key_is_refused() -> None:
    ed25519 = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    with pytest.raises(KeyFormatError, match="not an X25519 public key"):
        PublicKey.from_pem(ed25519)
    with pytest.raises(KeyFormatError, match="not a PEM public key"):
        PublicKey.from_pem(b"hello")


def test_a_key_survives_its_keyring_entry() -> None:
    key = SealingKey.generate(T0 + datetime.timedelta(microseconds=5))

    name, content = key.to_entry()
    again = SealingKey.from_entry(name, content)

    assert name == f"{ENTRY_PREFIX}{key.id}"
    assert (again.id, again.created) == (key.id, T0)
    assert private_text(again) == private_text(key)


def test_no_repr_of_a_key_or_keyset_shows_private_material() -> None:
    key = SealingKey.generate(T0)

    shown = repr(key) + repr(Keyset((key,))) + repr(key.public)

    assert private_text(key) not in shown
    assert key.id in shown


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"created": "2026-01-01T00:00:00Z"}',
        b'{"created": "yesterday", "privateKey": "PRIVATE"}',
        b'{"created": "2026-01-01T00:00:00Z", "privateKey": "c2hvcnQ="}',
        b'{"created": "2026-01-01T00:00:00Z", "privateKey": "!!!"}',
    ],
)
def test_a_malformed_entry_is_named_and_its_content_is_not_repeated(content: bytes) -> None:
    with pytest.raises(KeyFormatError) as caught:
        SealingKey.from_entry(f"{ENTRY_PREFIX}0123456789abcdef", content)

    assert f"{ENTRY_PREFIX}0123456789abcdef" in str(caught.value)
    assert "PRIVATE" not in str(caught.value)


def test_an_entry_whose_name_is_not_its_key_id_is_refused() -> None:
    key = SealingKey.generate(T0)
    _, content = key.to_entry()

    with pytest.raises(KeyFormatError, match="another id"):
        SealingKey.from_entry(f"{ENTRY_PREFIX}0123456789abcdef", content)


def test_a_keyset_reads_only_sealing_entries_and_orders_them_by_age() -> None:
    old, mid, new = (SealingKey.generate(T0 + n * DAY) for n in range(3))
    entries = dict(k.to_entry() for k in (new, old, mid))
    entries["fingerprint.key"] = b"\x00" * 32

    keyset = Keyset.from_entries(entries)

    assert [k.id for k in keyset.keys] == [old.id, mid.id, new.id]
    assert keyset.active == new
    assert keyset.retired_at(old.id) == mid.created
    assert keyset.retired_at(mid.id) == new.created
    assert keyset.retired_at(new.id) is None
    assert keyset.is_retired(old.id)
    assert not keyset.is_retired(new.id)
    assert not keyset.is_retired("0123456789abcdef")


def test_a_key_made_within_the_same_second_still_becomes_the_active_one() -> None:
    keyset = Keyset((SealingKey.generate(T0),))

    for _ in range(5):
        keyset = keyset.with_key(SealingKey.generate(keyset.successor_time(T0)))
        newest = max(keyset.keys, key=lambda k: k.created)
        assert keyset.active == newest

    assert len({k.created for k in keyset.keys}) == 6


def test_an_empty_keyset_has_no_active_key() -> None:
    assert Keyset().active is None
    assert Keyset.from_entries({"fingerprint.key": b"x"}).keys == ()


def test_the_stored_form_is_json_with_the_creation_time_in_utc() -> None:
    _, content = SealingKey.generate(T0).to_entry()

    assert json.loads(content)["created"] == "2026-01-01T00:00:00Z"
