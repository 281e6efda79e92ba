"""What several subcommands share: reading input files and printing errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

USAGE_ERROR = 2
FAILURE = 1


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
