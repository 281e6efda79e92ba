"""The esv1. envelope: it opens where it was sealed for, and nothing else gets through."""

from __future__ import annotations

import base64
import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from envpayload.errors import EnvelopeError
from envpayload.sealing import envelope
from envpayload.sealing.envelope import (
    MAX_ENVELOPE,
    MAX_HEADER,
    MAX_PLAINTEXT,
    MAX_SERIAL,
    OPEN_FAILED,
    Scope,
    decrypt,
    parse_envelope,
    read_header,
    seal,
)
from envpayload.sealing.keys import SealingKey

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
CANARY = "canary-7Qx2vL9p-never-printed"
PAYLOAD = f"DATABASE_PASSWORD={CANARY}\nAPI_KEY=k-123\n".encode()
B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture(scope="module")
def key() -> SealingKey:
    return SealingKey.generate(NOW)


def sealed(
    key: SealingKey,
    *,
    scope: Scope = "strict",
    serial: int = 7,
    namespace: str = "prod",
    name: str = "app",
    plaintext: bytes = PAYLOAD,
) -> bytes:
    text = seal(plaintext, key.public, scope=scope, serial=serial, namespace=namespace, name=name)
    return text.encode()


def opened(content: bytes, key: SealingKey, namespace: str = "prod", name: str = "app") -> bytes:
    return decrypt(parse_envelope(content), key.private, namespace, name)


def header_fields(content: bytes) -> dict[str, Any]:
    """The header of ``content``, as the JSON object it holds."""
    header = content.split(b".")[1]
    fields: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(header + b"=" * (-len(header) % 4))
    )
    return fields


def with_header(content: bytes, fields: dict[str, Any], canonical: bool = True) -> bytes:
    """``content`` with its header replaced by ``fields`` (ciphertext untouched)."""
    prefix, _, body = content.split(b".")
    text = json.dumps(fields, sort_keys=canonical, separators=(",", ":") if canonical else None)
    header = base64.urlsafe_b64encode(text.encode()).rstrip(b"=")
    return b".".join((prefix, header, body))


class CountingSuite:
    """The real HPKE suite, counting decryptions (to prove a refusal came before any)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.decryptions = 0

    def encrypt(self, *args: Any, **kwargs: Any) -> bytes:
        result: bytes = self.real.encrypt(*args, **kwargs)
        return result

    def decrypt(self, *args: Any, **kwargs: Any) -> bytes:
        self.decryptions += 1
        result: bytes = self.real.decrypt(*args, **kwargs)
        return result


@pytest.fixture
def suite(monkeypatch: pytest.MonkeyPatch) -> CountingSuite:
    counting = CountingSuite(envelope.SUITE)
    monkeypatch.setattr(envelope, "SUITE", counting)
    return counting


def test_an_envelope_opens_to_exactly_the_payload_it_sealed(key: SealingKey) -> None:
    assert opened(sealed(key), key) == PAYLOAD


def test_an_empty_payload_round_trips(key: SealingKey) -> None:
    assert opened(sealed(key, plaintext=b""), key) == b""


def test_an_envelope_is_one_ascii_line_that_the_crd_accepts(key: SealingKey) -> None:
    crd = yaml.safe_load((REPO / "manifests/crds/envpayloads.envpayload.io.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    sealed_schema = schema["properties"]["spec"]["properties"]["source"]["properties"]["inline"][
        "properties"
    ]["sealed"]

    text = sealed(key).decode("ascii")

    assert text.startswith("esv1.")
    assert "\n" not in text
    assert re.fullmatch(sealed_schema["pattern"].strip("^$"), text)
    assert sealed_schema["maxLength"] == MAX_ENVELOPE


def test_the_header_says_in_clear_which_key_scope_serial_and_length(key: SealingKey) -> None:
    header = read_header(sealed(key, scope="namespace", serial=42))

    assert (header.key_id, header.scope, header.serial) == (key.id, "namespace", 42)
    assert header.length == len(PAYLOAD) + 48  # the encapsulated key and the GCM tag


def test_the_header_is_read_without_decoding_the_ciphertext(key: SealingKey) -> None:
    # Key-usage scans read headers only; a damaged body is the opener's business.
    prefix, header, _ = sealed(key, serial=9).split(b".")

    assert read_header(b".".join((prefix, header, b"!not base64!"))).serial == 9
    assert read_header(b" \r\n" + b".".join((prefix, header, b"AAAA"))).serial == 9
    too_long = b"A" * (MAX_HEADER + 1)
    for broken in (
        prefix + b"." + header,
        b"esv2." + header + b".AAAA",
        b"esv1..AAAA",
        b"esv1." + too_long + b".AAAA",
    ):
        with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
            read_header(broken)


def test_two_seals_of_the_same_payload_differ(key: SealingKey) -> None:
    # A fresh ephemeral key per envelope: equal payloads are not recognisable as equal.
    assert sealed(key) != sealed(key)


def test_a_trailing_newline_from_a_file_is_allowed(key: SealingKey) -> None:
    assert opened(b"  " + sealed(key) + b"\r\n", key) == PAYLOAD


def test_every_single_byte_change_anywhere_is_rejected(key: SealingKey) -> None:
    original = sealed(key, plaintext=b"A=1\n")
    accepted = []
    messages = set()
    for position in range(len(original)):
        for value in range(256):
            if value == original[position]:
                continue
            changed = original[:position] + bytes([value]) + original[position + 1 :]
            try:
                opened(changed, key)
            except EnvelopeError as e:
                messages.add(str(e))
            else:
                accepted.append((position, value))
    assert accepted == []
    assert messages == {OPEN_FAILED}


@pytest.mark.parametrize(
    ("namespace", "name"),
    [("prod", "other"), ("staging", "app"), ("staging", "other"), ("prodapp", ""), ("", "prodapp")],
)
def test_a_strict_envelope_opens_for_no_other_namespace_or_name(
    key: SealingKey, namespace: str, name: str
) -> None:
    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(sealed(key, scope="strict"), key, namespace, name)


def test_a_namespace_envelope_opens_for_any_name_in_its_namespace_only(key: SealingKey) -> None:
    content = sealed(key, scope="namespace", name="")

    assert opened(content, key, "prod", "app") == PAYLOAD
    assert opened(content, key, "prod", "worker") == PAYLOAD
    with pytest.raises(EnvelopeError):
        opened(content, key, "staging", "app")


def test_a_cluster_envelope_opens_in_any_namespace(key: SealingKey) -> None:
    content = sealed(key, scope="cluster", namespace="", name="")

    assert opened(content, key, "prod", "app") == PAYLOAD
    assert opened(content, key, "staging", "worker") == PAYLOAD


@pytest.mark.parametrize("wider", ["namespace", "cluster"])
def test_widening_the_scope_in_the_header_is_rejected(key: SealingKey, wider: str) -> None:
    original = sealed(key)
    content = with_header(original, {**header_fields(original), "scope": wider})

    assert read_header(content).scope == wider  # well-formed, so only the binding refuses it
    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(content, key, "prod", "app")
    with pytest.raises(EnvelopeError):
        opened(content, key, "prod", "other")


def test_raising_the_serial_in_the_header_is_rejected(key: SealingKey) -> None:
    # Otherwise an old envelope could be dressed up as newer to get past replay protection.
    original = sealed(key, serial=7)
    content = with_header(original, {**header_fields(original), "serial": 8})

    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(content, key)


def test_a_truncated_envelope_is_rejected_before_decryption(
    key: SealingKey, suite: CountingSuite
) -> None:
    original = sealed(key)

    # Every cut, including the ones that leave canonical base64 of a shorter ciphertext.
    for keep in range(len(original)):
        with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
            opened(original[:keep], key)
    assert suite.decryptions == 0


def test_a_body_cut_at_a_whole_byte_is_rejected_before_decryption(
    key: SealingKey, suite: CountingSuite
) -> None:
    prefix, header, body = sealed(key).split(b".")
    ciphertext = base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
    shorter = base64.urlsafe_b64encode(ciphertext[:-1]).rstrip(b"=")

    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(b".".join((prefix, header, shorter)), key)
    assert suite.decryptions == 0


def test_a_length_edited_to_match_a_cut_body_is_refused_by_the_binding(
    key: SealingKey, suite: CountingSuite
) -> None:
    # The length is part of the authenticated header: lying about it does not help.
    original = sealed(key)
    prefix, _, body = original.split(b".")
    ciphertext = base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
    shorter = base64.urlsafe_b64encode(ciphertext[:-1]).rstrip(b"=")
    fields = {**header_fields(original), "len": len(ciphertext) - 1}

    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(with_header(b".".join((prefix, b"", shorter)), fields), key)
    assert suite.decryptions == 1


def test_an_oversized_envelope_is_rejected_before_decryption(
    key: SealingKey, suite: CountingSuite
) -> None:
    original = sealed(key)
    padded = original + b"A" * (MAX_ENVELOPE - len(original) + 1)

    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(padded, key)
    assert suite.decryptions == 0


def _headers(good: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Headers that are wrong in one way each, made from the ``good`` one."""
    key_id, length = good["kid"], good["len"]
    return {
        "extra field": {**good, "name": "app"},
        "missing serial": {k: v for k, v in good.items() if k != "serial"},
        "missing length": {k: v for k, v in good.items() if k != "len"},
        "string length": {**good, "len": str(length)},
        "length of a longer body": {**good, "len": length + 1},
        "length of a shorter body": {**good, "len": length - 1},
        "length below HPKE's overhead": {**good, "len": 47},
        "length over the limit": {**good, "len": MAX_PLAINTEXT + 49},
        "float serial": {**good, "serial": 7.0},
        "boolean serial": {**good, "serial": True},
        "string serial": {**good, "serial": "7"},
        "negative serial": {**good, "serial": -1},
        "serial too large": {**good, "serial": MAX_SERIAL + 1},
        "unknown scope": {**good, "scope": "global"},
        "upper-case key id": {**good, "kid": key_id.upper()},
        "short key id": {**good, "kid": key_id[:8]},
    }


@pytest.mark.parametrize("case", list(_headers({"kid": "0" * 16, "len": 64})))
def test_a_header_with_wrong_fields_is_rejected_before_decryption(
    key: SealingKey, suite: CountingSuite, case: str
) -> None:
    original = sealed(key)
    content = with_header(original, _headers(header_fields(original))[case])

    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(content, key)
    assert suite.decryptions == 0


def _respelled(content: bytes) -> dict[str, bytes]:
    """The same envelope spelled in ways a lenient decoder would accept."""
    prefix, header, body = content.split(b".")
    raw_header = base64.urlsafe_b64decode(header + b"=" * (-len(header) % 4))
    fields = header_fields(content)
    # Flip an unused low bit of the last character: the same bytes to a lenient decoder.
    assert len(body) % 4 != 0, "the payload's length leaves no unused bits"
    sloppy_last = bytes([B64URL[B64URL.index(body[-1]) ^ 1]])

    def header_text(text: str) -> bytes:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=")

    return {
        "padding added": b".".join((prefix, header, body + b"=" * (-len(body) % 4 or 4))),
        "standard base64 alphabet": b".".join(
            (prefix, header, body.replace(b"-", b"+").replace(b"_", b"/"))
        ),
        "non-zero trailing bits": b".".join((prefix, header, body[:-1] + sloppy_last)),
        "whitespace inside": b".".join((prefix, header, body[:10] + b" " + body[10:])),
        "reordered header fields": b".".join(
            (
                prefix,
                header_text(json.dumps(dict(reversed(fields.items())), separators=(",", ":"))),
                body,
            )
        ),
        "spaces in the header": b".".join(
            (prefix, header_text(json.dumps(fields, sort_keys=True)), body)
        ),
        "leading zero in the serial": b".".join(
            (prefix, header_text(raw_header.decode().replace(":7}", ":07}")), body)
        ),
        "escaped characters in the header": b".".join(
            (prefix, header_text(raw_header.decode().replace("strict", "\\u0073trict")), body)
        ),
        "duplicate header field": b".".join(
            (prefix, header_text(raw_header.decode().replace("{", '{"kid":"x",', 1)), body)
        ),
        "a third part": content + b".AAAA",
        "another version": b"esv2" + content[4:],
        "upper-case prefix": b"ESV1" + content[4:],
    }


RESPELLINGS = [
    "padding added",
    "standard base64 alphabet",
    "non-zero trailing bits",
    "whitespace inside",
    "reordered header fields",
    "spaces in the header",
    "leading zero in the serial",
    "escaped characters in the header",
    "duplicate header field",
    "a third part",
    "another version",
    "upper-case prefix",
]


@pytest.mark.parametrize("case", RESPELLINGS)
def test_a_non_canonical_envelope_is_rejected_before_decryption(
    key: SealingKey, suite: CountingSuite, case: str
) -> None:
    # An envelope that has a '-' to respell as the standard alphabet's '+' (most do).
    original = next(c for c in iter(lambda: sealed(key), None) if b"-" in c.split(b".")[2])
    respelled = _respelled(original)
    assert sorted(respelled) == sorted(RESPELLINGS)
    content = respelled[case]
    assert content != original

    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(content, key)
    assert suite.decryptions == 0


def test_an_envelope_for_another_key_is_rejected(key: SealingKey) -> None:
    other = SealingKey.generate(NOW)

    with pytest.raises(EnvelopeError, match=re.escape(OPEN_FAILED)):
        opened(sealed(key), other)


def test_no_failure_message_or_repr_contains_the_plaintext(key: SealingKey) -> None:
    content = sealed(key)
    failures: list[EnvelopeError] = []
    for namespace, name in [("prod", "other"), ("other", "app")]:
        with pytest.raises(EnvelopeError) as caught:
            opened(content, key, namespace, name)
        failures.append(caught.value)
    with pytest.raises(EnvelopeError) as caught:
        opened(content[:-3], key)
    failures.append(caught.value)

    for failure in failures:
        assert CANARY not in str(failure)
        assert CANARY not in repr(failure)
    assert CANARY not in repr(parse_envelope(content))
    assert CANARY.encode() not in content


@pytest.mark.parametrize(
    ("scope", "namespace", "name", "complaint"),
    [
        ("strict", "prod", "", "needs the name"),
        ("strict", "", "app", "needs the namespace"),
        ("namespace", "", "", "needs the namespace"),
        ("everywhere", "prod", "app", "scope must be one of"),
    ],
)
def test_sealing_refuses_arguments_that_would_make_an_unopenable_envelope(
    key: SealingKey, scope: Any, namespace: str, name: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        seal(PAYLOAD, key.public, scope=scope, serial=1, namespace=namespace, name=name)


@pytest.mark.parametrize("serial", [-1, MAX_SERIAL + 1])
def test_sealing_refuses_a_serial_out_of_range(key: SealingKey, serial: int) -> None:
    with pytest.raises(ValueError, match="serial"):
        seal(PAYLOAD, key.public, scope="cluster", serial=serial)


def test_the_largest_payload_seals_within_the_size_limit_and_larger_ones_do_not(
    key: SealingKey,
) -> None:
    largest = b"A=" + b"x" * (MAX_PLAINTEXT - 2)

    content = sealed(key, plaintext=largest, serial=MAX_SERIAL, name="n" * 253, namespace="n" * 63)

    assert len(content) <= MAX_ENVELOPE
    assert opened(content, key, "n" * 63, "n" * 253) == largest
    with pytest.raises(ValueError, match="over the limit"):
        seal(largest + b"x", key.public, scope="cluster", serial=1)
