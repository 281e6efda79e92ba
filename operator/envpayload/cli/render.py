"""``envpayload render``: the Secret an EnvPayload and a payload file would produce.

No cluster needed: it runs the same parse, validate and render steps as the operator and
prints the manifest it would apply. Values are shown as ``<redacted>`` unless
``--show-values`` asks for them, so the output can go into a review or a CI log.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml

from envpayload.cli.common import USAGE_ERROR, check_payload, fail, help_text, read_input
from envpayload.errors import PayloadError, ValidationError
from envpayload.render import Owner, redact_secret, render_secret
from envpayload.spec import KIND, SpecError, read_spec
from envpayload.validate import Rules

PLACEHOLDER_UID = "<assigned by the apiserver>"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "render",
        help="print the Secret an EnvPayload and a payload would produce",
        description=help_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-f", "--filename", required=True, help="the EnvPayload manifest (YAML or JSON)"
    )
    parser.add_argument(
        "--payload", required=True, help="the .env payload file, or - for standard input"
    )
    parser.add_argument(
        "--namespace", help="namespace to render for (default: the manifest's, or default)"
    )
    parser.add_argument(
        "--show-values",
        action="store_true",
        help="print the values themselves (base64), not <redacted>",
    )
    parser.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    manifest = _load_manifest(read_input(args.filename), args.filename)
    meta = manifest.get("metadata") or {}
    name = meta.get("name") or fail(f"{args.filename}: metadata.name is missing", USAGE_ERROR)
    try:
        spec = read_spec(name, manifest.get("spec") or {})
    except (SpecError, KeyError) as e:
        fail(f"{args.filename}: {e}", USAGE_ERROR)

    rules = Rules(
        required=spec.validation.required,
        allow_empty=spec.validation.allow_empty,
        file_key=spec.target.file_key,
    )
    try:
        payload, _ = check_payload(
            read_input(args.payload),
            rules,
            if_sealed="it is a sealed envelope; render the plain payload before sealing it",
        )
    except (PayloadError, ValidationError) as e:
        fail(f"{args.payload}: {e}")

    namespace = args.namespace or meta.get("namespace") or "default"
    owner = Owner(namespace=namespace, name=name, uid=meta.get("uid") or PLACEHOLDER_UID)
    secret = render_secret(owner, spec.target, payload)
    if not args.show_values:
        secret = redact_secret(secret)

    if args.output == "json":
        print(json.dumps(secret, indent=2))
    else:
        print(yaml.safe_dump(secret, sort_keys=False), end="")
    return 0


def _load_manifest(content: bytes, where: str) -> dict[str, Any]:
    try:
        documents = [d for d in yaml.safe_load_all(content) if d]
    except yaml.YAMLError as e:
        fail(f"{where} is not valid YAML: {e}", USAGE_ERROR)
    found = [d for d in documents if isinstance(d, dict) and d.get("kind") == KIND]
    if len(found) != 1:
        fail(f"{where} must hold exactly one {KIND}, found {len(found)}", USAGE_ERROR)
    return found[0]
