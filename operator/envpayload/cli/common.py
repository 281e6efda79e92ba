"""What several subcommands share: reading input, failing clearly, the operator's namespace.

Kept free of the Kubernetes client, so the commands CI runs most (``validate``,
``render``) start quickly; the cluster helpers are in ``cli/cluster.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from envpayload.errors import PayloadError
from envpayload.parse import parse_bytes
from envpayload.payload import Payload
from envpayload.sealing import is_sealed
from envpayload.settings import DEFAULT_OPERATOR_NAMESPACE
from envpayload.validate import Report, Rules, validate_payload

USAGE_ERROR = 2
FAILURE = 1

# These log request and response bodies at DEBUG, Secret data included.
QUIET_LOGGERS = ("kubernetes", "urllib3", "github", "aiohttp.client")


def quiet_chatty_loggers() -> None:
    """Keep loggers that print bodies above DEBUG, whatever the operator's own level."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def help_text(docstring: str | None) -> str:
    """A module docstring as ``--help`` shows it: without the reST ````markup```` around code."""
    return (docstring or "").replace("``", "")


def fail(message: str, code: int = FAILURE) -> NoReturn:
    """Print ``envpayload: error: message`` and exit with ``code``."""
    print(f"envpayload: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of standard input for ``-``."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}", USAGE_ERROR)


def check_payload(content: bytes, rules: Rules, *, if_sealed: str) -> tuple[Payload, Report]:
    """Parse and validate a plain payload exactly as the operator will.

    Every command here takes the plain ``.env`` text, so an envelope is refused with
    ``if_sealed``. Raises :class:`PayloadError` or :class:`ValidationError`, whose
    ``problems`` name line numbers and keys, never values.
    """
    if is_sealed(content):
        raise PayloadError([if_sealed])
    payload = parse_bytes(content)
    return payload, validate_payload(payload, rules)


def add_operator_namespace(parser: argparse.ArgumentParser) -> None:
    """``--operator-namespace``: where the operator keeps its keyring and public keys."""
    parser.add_argument(
        "--operator-namespace",
        metavar="NS",
        default=os.environ.get("ENVPAYLOAD_NAMESPACE") or DEFAULT_OPERATOR_NAMESPACE,
        help="the operator's own namespace (default: $ENVPAYLOAD_NAMESPACE or %(default)s)",
    )
