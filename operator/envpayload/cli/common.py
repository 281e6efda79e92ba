"""What several subcommands share: reading input, failing clearly, the operator's namespace.

Kept free of the Kubernetes client, so the commands CI runs most (``validate``,
``render``) start quickly; the cluster helpers are in ``cli/cluster.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from envpayload.settings import DEFAULT_OPERATOR_NAMESPACE

USAGE_ERROR = 2
FAILURE = 1


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


def add_operator_namespace(parser: argparse.ArgumentParser) -> None:
    """``--operator-namespace``: where the operator keeps its keyring and public keys."""
    parser.add_argument(
        "--operator-namespace",
        metavar="NS",
        default=os.environ.get("ENVPAYLOAD_NAMESPACE") or DEFAULT_OPERATOR_NAMESPACE,
        help="the operator's own namespace (default: $ENVPAYLOAD_NAMESPACE or %(default)s)",
    )
