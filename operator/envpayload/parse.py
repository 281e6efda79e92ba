"""Strict ``.env`` parsing: python-dotenv's grammar, without its forgiveness.

python-dotenv is the reference for what a ``.env`` file means (``export``, comments,
single and double quotes, multi-line values, escapes, BOM, CRLF), so we parse with its
own grammar, ``dotenv.parser.parse_stream``. Its public entry points are too lenient for
an operator: a line that does not parse is only logged and then dropped, a duplicate key
silently replaces the earlier one, a key without ``=`` becomes ``None``, and ``${VAR}``
is filled from the process environment, which inside the operator would copy the
operator's own tokens into a tenant's Secret. Here each of those is an error, and
nothing is ever interpolated.

Errors name line numbers, never the line: a line that does not parse is often a piece
of a multi-line value pasted without quotes, so even its "key" may be secret text.

NB: ``parse_stream`` is not documented API. python-dotenv is pinned exactly, and
``tests/unit/test_parse.py`` fails if the shape of its bindings changes.
"""

from __future__ import annotations

import io

from dotenv.parser import Binding, parse_stream

from envpayload.errors import PayloadError
from envpayload.payload import Payload, SecretValue, secret_key_problem

# Enough to point at the problem without flooding a condition message.
MAX_REPORTED_PROBLEMS = 10


def parse_payload(text: str) -> Payload:
    """Parse a ``.env`` text into an ordered payload, or raise :class:`PayloadError`."""
    entries: list[tuple[str, SecretValue]] = []
    first_seen: dict[str, int] = {}
    problems: list[str] = []

    for binding in parse_stream(io.StringIO(text)):
        line = _statement_line(binding)

        if binding.error:
            problems.append(f"line {line}: the statement does not parse")
        elif binding.key is None:
            continue  # a comment or blank lines
        elif binding.value is None:
            # Not named: such a "key" is often the tail of a multi-line value.
            problems.append(
                f"line {line}: the statement has no '=' (an unquoted multi-line value?)"
            )
        elif binding.key in first_seen:
            # Named only when it can be a key: otherwise it may be part of a value.
            named = "" if secret_key_problem(binding.key) else f" {binding.key}"
            problems.append(
                f"line {line}: key{named} is defined again"
                f" (first on line {first_seen[binding.key]})"
            )
        else:
            first_seen[binding.key] = line
            entries.append((binding.key, SecretValue(binding.value)))

    if problems:
        shown = problems[:MAX_REPORTED_PROBLEMS]
        if len(problems) > len(shown):
            shown.append(f"and {len(problems) - len(shown)} more problems")
        raise PayloadError(shown)

    return Payload(tuple(entries), SecretValue(text))


def parse_bytes(content: bytes) -> Payload:
    """Decode UTF-8 (a BOM is allowed) and parse; other encodings are an error."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as e:
        line = content[: e.start].count(b"\n") + 1
        raise PayloadError([f"line {line}: the payload is not valid UTF-8"]) from None
    return parse_payload(text)


def _statement_line(binding: Binding) -> int:
    """The line where the statement itself starts.

    python-dotenv marks a binding where the previous one ended, so the blank lines and
    indentation before a statement belong to it; skip them to point at the key.
    """
    original = binding.original.string
    leading = original[: len(original) - len(original.lstrip())]
    newlines = leading.count("\n") + leading.count("\r") - leading.count("\r\n")
    return binding.original.line + newlines
