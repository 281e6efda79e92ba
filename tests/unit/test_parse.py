"""Strict parsing keeps python-dotenv's grammar and turns its leniencies into errors."""

from __future__ import annotations

import io

import pytest
from dotenv import dotenv_values
from dotenv.parser import Binding, Original, parse_stream

from envpayload.errors import PayloadError
from envpayload.parse import parse_bytes, parse_payload


def values(text: str) -> dict[str, str]:
    return {key: value.reveal() for key, value in parse_payload(text).items()}


def problems(text: str) -> tuple[str, ...]:
    with pytest.raises(PayloadError) as caught:
        parse_payload(text)
    return caught.value.problems


GRAMMAR_SAMPLE = (
    "\ufeff# leading comment\n"
    "export EXPORTED=1\n"
    "PLAIN=value with spaces   # trailing comment\n"
    "SINGLE='single \\n stays literal'\n"
    'DOUBLE="line1\\nline2\\t\\"quoted\\""\n'
    'MULTI="first\nsecond"\n'
    "MULTI_SINGLE='a\nb'\n"
    "EMPTY=\n"
    "HASH=#not-a-comment\n"
    "'QUOTED_KEY'=q\n"
)


def test_the_dotenv_grammar_is_understood() -> None:
    assert values(GRAMMAR_SAMPLE) == {
        "EXPORTED": "1",
        "PLAIN": "value with spaces",
        "SINGLE": "single \\n stays literal",
        "DOUBLE": 'line1\nline2\t"quoted"',
        "MULTI": "first\nsecond",
        "MULTI_SINGLE": "a\nb",
        "EMPTY": "",
        "HASH": "#not-a-comment",
        "QUOTED_KEY": "q",
    }


def test_valid_payloads_mean_what_python_dotenv_says_they_mean() -> None:
    reference = dotenv_values(stream=io.StringIO(GRAMMAR_SAMPLE), interpolate=False)
    assert values(GRAMMAR_SAMPLE) == reference


def test_multiline_values_and_crlf_keep_their_content() -> None:
    assert values('A="one\r\ntwo"\r\nB=3\r\n') == {"A": "one\r\ntwo", "B": "3"}


def test_key_order_is_the_payload_order() -> None:
    assert list(parse_payload("Z=1\nA=2\nM=3\n")) == ["Z", "A", "M"]


def test_variables_are_never_interpolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_TOKEN", "operator-secret")
    assert values("A=${OPERATOR_TOKEN}\nB=$OPERATOR_TOKEN\n") == {
        "A": "${OPERATOR_TOKEN}",
        "B": "$OPERATOR_TOKEN",
    }


def test_a_duplicate_key_is_an_error_naming_both_lines() -> None:
    assert problems("A=1\nB=2\n\nA=3\n") == ("line 4: key A is defined again (first on line 1)",)


def test_a_repeated_fragment_of_a_value_is_not_named_as_a_duplicate_key() -> None:
    # An unquoted multi-line value pasted twice: dotenv reads its tail as a "key".
    tail = "canary+tail/of/a/value"
    found = problems(f"A=1\n{tail}=x\nB=2\n{tail}=x\n")

    assert found == ("line 4: key is defined again (first on line 2)",)
    assert "canary" not in str(found)


def test_a_statement_without_equals_is_an_error_that_does_not_name_it() -> None:
    found = problems("PASSWORD=hunter2\nsecond-half-of-a-password\n")
    assert found == ("line 2: the statement has no '=' (an unquoted multi-line value?)",)
    assert "second-half" not in " ".join(found)


def test_a_line_that_does_not_parse_is_named_by_number_only() -> None:
    found = problems("A=1\n\n\nKEY WITH SPACE=canary-value\nB=2\n")
    assert found == ("line 4: the statement does not parse",)
    assert "canary" not in str(found)


def test_an_unterminated_quote_is_an_error() -> None:
    assert problems('A="never closed\nB=2\n')[0].startswith("line 1:")


def test_every_problem_is_reported_up_to_a_limit() -> None:
    text = "".join(f"bad line {n}\n" for n in range(25))
    found = problems(text)
    assert len(found) == 11
    assert found[-1] == "and 15 more problems"


def test_bytes_must_be_utf8_and_the_bad_line_is_named() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_bytes(b"A=1\nB=\xff\n")
    assert caught.value.problems == ("line 2: the payload is not valid UTF-8",)


def test_an_empty_payload_has_no_keys() -> None:
    assert len(parse_payload("# only a comment\n\n")) == 0


def test_the_payload_repr_shows_keys_and_never_values() -> None:
    payload = parse_payload("API_KEY=canary-7f3a\n")
    assert "canary" not in repr(payload)
    assert (
        "canary" not in repr(payload["API_KEY"]) + str(payload["API_KEY"]) + f"{payload['API_KEY']}"
    )
    assert "API_KEY" in repr(payload)


def test_python_dotenv_bindings_keep_the_shape_the_parser_relies_on() -> None:
    # parse_stream is undocumented: this fails loudly if a new python-dotenv changes it.
    bindings = list(parse_stream(io.StringIO("A=1\nbroken line\n")))
    assert Binding._fields == ("key", "value", "original", "error")
    assert Original._fields == ("string", "line")
    assert (bindings[0].key, bindings[0].value, bindings[0].error) == ("A", "1", False)
    assert (bindings[1].error, bindings[1].original.line) == (True, 2)
