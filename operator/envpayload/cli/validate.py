"""``envpayload validate FILE``: check a ``.env`` payload the way the operator will.

Meant for CI: it parses strictly, applies the same rules as ``spec.validation``, prints
key names (never values), and exits 1 on any problem, so a broken
``PRODUCTION_ENV_FILE`` stops the pipeline before it reaches a cluster.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from envpayload.cli.common import check_payload, help_text, read_input
from envpayload.errors import PayloadError, ValidationError
from envpayload.validate import Rules


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "validate",
        help="check a .env payload strictly (for CI)",
        description=help_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the .env file, or - for standard input")
    parser.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="KEY",
        help="a key that must be present (repeatable)",
    )
    parser.add_argument("--no-empty", action="store_true", help="reject keys with empty values")
    parser.add_argument(
        "--file-key",
        metavar="KEY",
        help="as target.fileKey: also count the verbatim copy toward the size limit",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    rules = Rules(
        required=tuple(args.require), allow_empty=not args.no_empty, file_key=args.file_key
    )
    try:
        _, report = check_payload(
            read_input(args.file),
            rules,
            if_sealed="it is a sealed envelope; validate the plain payload before sealing it",
        )
    except (PayloadError, ValidationError) as e:
        return _finish(args, ok=False, problems=list(e.problems))
    return _finish(
        args, ok=True, keys=list(report.keys), size=report.size, warnings=list(report.warnings)
    )


def _finish(args: argparse.Namespace, *, ok: bool, **result: Any) -> int:
    name = "standard input" if args.file == "-" else args.file
    if args.json:
        print(json.dumps({"file": name, "ok": ok, **result}, indent=2))
    elif ok:
        keys = result["keys"]
        print(f"{name}: valid, {len(keys)} keys, {result['size']} bytes: {', '.join(keys)}")
        for warning in result["warnings"]:
            print(f"{name}: warning: {warning}", file=sys.stderr)
    else:
        for problem in result["problems"]:
            print(f"{name}: {problem}", file=sys.stderr)
    return 0 if ok else 1
