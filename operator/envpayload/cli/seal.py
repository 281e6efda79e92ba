"""``envpayload seal``: turn a .env payload into an envelope that only the operator opens.

    envpayload seal -n prod --name app -f .env.production > .env.production.sealed
    envpayload seal -n prod --name app -f .env.production --format manifest | kubectl create -f -

The payload is checked first with the operator's own parser and rules, so a broken
payload is never sealed. The public key comes from the cluster (the ConfigMap the
operator publishes; KUBECONFIG says which cluster) or, offline, from --cert, a file
written by `envpayload keys cert`. The output is the bare envelope, one line for a file
in git (source github) or a Secret (source secretRef), or with --format manifest a
complete EnvPayload that carries it inline.

Scopes: strict (the default) opens only for this namespace and name; namespace opens
for any EnvPayload in the namespace; cluster opens anywhere in the cluster.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import yaml

from envpayload.cli.common import (
    USAGE_ERROR,
    add_operator_namespace,
    check_payload,
    fail,
    help_text,
    read_input,
)
from envpayload.errors import PayloadError, ValidationError
from envpayload.sealing.envelope import MAX_SERIAL, SCOPES, seal
from envpayload.sealing.keys import KeyFormatError, PublicKey
from envpayload.spec import API_VERSION, KIND
from envpayload.validate import Rules


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "seal",
        help="seal a .env payload so that only the operator can open it",
        description=help_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-n", "--namespace", help="namespace of the EnvPayload")
    parser.add_argument("--name", help="name of the EnvPayload")
    parser.add_argument(
        "-f", "--file", default="-", help="the .env payload (default: standard input)"
    )
    parser.add_argument(
        "--scope", choices=SCOPES, default="strict", help="where it may open (default: strict)"
    )
    parser.add_argument(
        "--cert", metavar="FILE", help="the public key to seal with (default: from the cluster)"
    )
    add_operator_namespace(parser)
    parser.add_argument(
        "--format",
        choices=("envelope", "manifest"),
        default="envelope",
        help="the bare envelope (default) or an EnvPayload manifest carrying it inline",
    )
    parser.add_argument(
        "--serial",
        type=int,
        help="replay-protection serial; higher than any earlier seal (default: now, in ms)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    _check_arguments(args)
    where = "standard input" if args.file == "-" else args.file
    if args.file == "-" and sys.stdin.isatty():
        fail("give the payload with --file, or pipe it to standard input", USAGE_ERROR)
    content = read_input(args.file)

    try:
        _, report = check_payload(content, Rules(), if_sealed="it is already a sealed envelope")
    except (PayloadError, ValidationError) as e:
        for problem in e.problems:
            print(f"{where}: {problem}", file=sys.stderr)
        fail(f"{where} was not sealed: fix the problems above")
    for warning in report.warnings:
        print(f"{where}: warning: {warning}", file=sys.stderr)

    key = _public_key(args)
    serial = args.serial if args.serial is not None else time.time_ns() // 1_000_000
    try:
        envelope = seal(
            content,
            key,
            scope=args.scope,
            serial=serial,
            namespace=args.namespace or "",
            name=args.name or "",
        )
    except ValueError as e:  # the messages name sizes and arguments, never content
        fail(f"{where} was not sealed: {e}")

    if args.format == "envelope":
        print(envelope)
    else:
        print(
            yaml.safe_dump(_manifest(args.namespace, args.name, envelope), sort_keys=False), end=""
        )
    print(
        f"Sealed {len(report.keys)} keys for {_target(args)} with key {key.id} "
        f"(scope {args.scope}, serial {serial})",
        file=sys.stderr,
    )
    return 0


def _check_arguments(args: argparse.Namespace) -> None:
    if args.scope in ("strict", "namespace") and not args.namespace:
        fail(f"scope {args.scope} needs --namespace", USAGE_ERROR)
    if args.scope == "strict" and not args.name:
        fail("scope strict needs --name (or choose --scope namespace or cluster)", USAGE_ERROR)
    if args.format == "manifest" and not (args.namespace and args.name):
        fail("a manifest needs --namespace and --name", USAGE_ERROR)
    if args.serial is not None and not 0 <= args.serial <= MAX_SERIAL:
        fail(f"--serial must be between 0 and {MAX_SERIAL}", USAGE_ERROR)


def _public_key(args: argparse.Namespace) -> PublicKey:
    """The key from ``--cert``, or the active key the operator published."""
    if args.cert:
        try:
            return PublicKey.from_pem(read_input(args.cert))
        except KeyFormatError as e:
            fail(f"{args.cert}: {e}")

    # Imported here: sealing offline with --cert need not load the Kubernetes client.
    from envpayload.cli.cluster import cluster, reporting_failures
    from envpayload.publickeys import PublicKeys

    with reporting_failures("cannot fetch the public key"):
        return PublicKeys(cluster().core, args.operator_namespace).active()


def _manifest(namespace: str, name: str, envelope: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"source": {"inline": {"sealed": envelope}}},
    }


def _target(args: argparse.Namespace) -> str:
    if args.scope == "cluster":
        return "any EnvPayload in the cluster"
    if args.scope == "namespace":
        return f"any EnvPayload in namespace {args.namespace}"
    return f"EnvPayload {args.namespace}/{args.name}"
