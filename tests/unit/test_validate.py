"""Validation is all-or-nothing and names keys, never values."""

from __future__ import annotations

import pytest

from envpayload.errors import ValidationError
from envpayload.payload import Payload, secret_key_problem
from envpayload.validate import SECRET_SIZE_LIMIT, Rules, validate_payload


def problems(payload: Payload, rules: Rules) -> tuple[str, ...]:
    with pytest.raises(ValidationError) as caught:
        validate_payload(payload, rules)
    return caught.value.problems


def test_a_good_payload_passes_with_its_keys_and_size() -> None:
    report = validate_payload(Payload.from_plain({"A": "12", "B": "345"}), Rules(required=("A",)))
    assert (report.keys, report.size, report.warnings) == (("A", "B"), 5, ())


def test_missing_required_keys_are_named_together() -> None:
    found = problems(
        Payload.from_plain({"A": "1"}), Rules(required=("DB_USER", "A", "DB_PASSWORD"))
    )
    assert found == ("required keys are missing: DB_USER, DB_PASSWORD",)


def test_empty_values_fail_only_when_the_rule_asks() -> None:
    payload = Payload.from_plain({"A": "", "B": "x", "C": ""})
    assert validate_payload(payload, Rules()).keys == ("A", "B", "C")
    assert problems(payload, Rules(allow_empty=False)) == ("keys have empty values: A, C",)


def test_an_invalid_key_with_an_empty_value_is_not_named_among_the_empty_ones() -> None:
    # "canary tail=" from a mangled value: an invalid key with an empty value.
    payload = Payload.from_plain({"A": "", "canary tail": ""})

    found = problems(payload, Rules(allow_empty=False))

    assert "keys have empty values: A" in found
    assert "canary" not in str(found)


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("DATABASE_URL", True),
        ("app.config-1", True),
        (".env", True),
        ("a" * 253, True),
        ("a" * 254, False),
        ("has space", False),
        ("slash/key", False),
        ("trailing\n", False),
        (".", False),
        ("..", False),
        ("..hidden", False),
        ("", False),
    ],
)
def test_secret_key_rules_match_the_apiserver(key: str, valid: bool) -> None:
    assert (secret_key_problem(key) is None) is valid


def test_an_invalid_key_is_named_by_position_not_by_text() -> None:
    found = problems(Payload.from_plain({"OK": "1", "bad/key-canary": "2"}), Rules())
    why = "it may only contain letters, digits, '-', '_' and '.'"
    assert found == (f"key number 2 is not a valid Secret key: {why}",)


def test_the_size_limit_counts_values_and_the_verbatim_copy() -> None:
    half = "x" * (SECRET_SIZE_LIMIT // 2)
    payload = Payload.from_plain({"A": half}, text=f"A={half}\n")
    assert validate_payload(payload, Rules()).size == len(half)
    assert problems(payload, Rules(file_key=".env"))[0].startswith("the Secret would hold")


def test_a_file_key_may_not_shadow_a_payload_key() -> None:
    found = problems(Payload.from_plain({"A": "1"}), Rules(file_key="A"))
    assert found == ("target.fileKey A is also a key of the payload",)


def test_keys_that_are_not_environment_variable_names_are_warned_about() -> None:
    report = validate_payload(
        Payload.from_plain({"GOOD": "1", "app.conf": "2", "9LIVES": "3"}), Rules()
    )
    assert report.not_env_names == ("app.conf", "9LIVES")
    assert report.warnings == (
        "keys not usable as environment variables with envFrom: app.conf, 9LIVES",
    )


def test_all_problems_are_reported_at_once() -> None:
    found = problems(Payload.from_plain({"A": ""}), Rules(required=("B",), allow_empty=False))
    assert len(found) == 2
