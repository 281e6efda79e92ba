"""The ``envpayload`` command line (also ``python -m envpayload``).

Each subcommand lives in a module of its own with a ``register`` function that adds its
parser and sets ``handler``. Only the module of the command being run is imported: the
operator's (Kopf, the Kubernetes client) takes a second or two to load, which a CI step
running ``envpayload validate`` should not pay. Exit codes are the same everywhere: 0 on
success, 1 on findings or failures, 2 on usage errors (argparse's own convention).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from envpayload import __version__

# Every subcommand: its module under envpayload.cli, and the line `envpayload --help` shows.
SUBCOMMANDS = {
    "run": "run the operator",
    "validate": "check a .env payload strictly (for CI)",
    "render": "print the Secret an EnvPayload and a payload would produce",
    "seal": "seal a .env payload for one EnvPayload (safe to commit)",
    "keys": "list, print or rotate the operator's sealing keys",
    "github": "manage the GitHub Actions secret that holds a payload, and audit it",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the full arguments of ``command`` only (all of them if None)."""
    parser = argparse.ArgumentParser(
        prog="envpayload",
        description="Turn multi-line .env payloads into Kubernetes Secrets, safely.",
    )
    parser.add_argument("--version", action="version", version=f"envpayload {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in SUBCOMMANDS.items():
        if command in (None, name):
            importlib.import_module(f"envpayload.cli.{name}").register(commands)
        else:
            commands.add_parser(name, help=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    # Without a known command nothing is imported: argparse's help and "invalid choice"
    # messages need only the names and summaries.
    args = build_parser(chosen if chosen in SUBCOMMANDS else "").parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
