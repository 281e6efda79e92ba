"""The ``envpayload`` command line (also ``python -m envpayload``).

Each subcommand lives in a module of its own with a ``register`` function that adds its
parser and sets ``handler``. Exit codes are the same everywhere: 0 on success, 1 on
findings or failures, 2 on usage errors (argparse's own convention).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from envpayload import __version__
from envpayload.cli import github, keys, render, run, seal, validate

SUBCOMMANDS = (run, validate, render, seal, keys, github)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envpayload",
        description="Turn multi-line .env payloads into Kubernetes Secrets, safely.",
    )
    parser.add_argument("--version", action="version", version=f"envpayload {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
