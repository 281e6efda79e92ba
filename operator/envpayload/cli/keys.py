"""``envpayload keys``: the operator's sealing keys.

    envpayload keys list      ids, creation and retirement, and which EnvPayloads use each
    envpayload keys cert      the active public key, for `envpayload seal --cert` offline
    envpayload keys rotate    make a new active key now (old keys keep opening)

`list` and `cert` read only the public keys the operator publishes (a ConfigMap anyone
may read); `rotate` writes the keyring Secret, so it needs the rights of an
administrator of the operator's namespace. The running operator picks a rotated key up
without a restart. Private key material is never printed.
"""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

from envpayload.cli.cluster import cluster, reporting_failures
from envpayload.cli.common import add_operator_namespace, help_text
from envpayload.keyring import KeyringStore
from envpayload.keyusage import scan_key_usage
from envpayload.publickeys import PublicKeys


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "keys",
        help="list, fetch or rotate the operator's sealing keys",
        description=help_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="list the sealing keys and what uses them")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.set_defaults(handler=list_keys)

    cert = actions.add_parser("cert", help="print the active public key (PEM)")
    cert.set_defaults(handler=print_cert)

    rotate = actions.add_parser("rotate", help="make a new active sealing key now")
    rotate.set_defaults(handler=rotate_keys)

    for action in (listing, cert, rotate):
        add_operator_namespace(action)


def list_keys(args: argparse.Namespace) -> int:
    clients = cluster()
    with reporting_failures("cannot list the keys"):
        published = PublicKeys(clients.core, args.operator_namespace).listed()
        usage = scan_key_usage(clients.custom)

    rows = [
        {
            "id": key.id,
            "state": "retired" if key.retired else "active",
            "created": key.created,
            "retired": key.retired,
            # None when the EnvPayloads could not be listed: unknown, not zero.
            "usedBy": None if usage.error else sorted(usage.users.get(key.id, ())),
        }
        for key in published
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0

    print(f"{'KEY ID':<18}{'STATE':<9}{'CREATED':<22}{'RETIRED':<22}USED BY")
    for row in rows:
        used = "?" if row["usedBy"] is None else str(len(row["usedBy"]))
        print(
            f"{row['id']:<18}{row['state']:<9}{row['created']:<22}{row['retired'] or '-':<22}{used}"
        )
    return 0


def print_cert(args: argparse.Namespace) -> int:
    with reporting_failures("cannot fetch the public key"):
        key = PublicKeys(cluster().core, args.operator_namespace).active()
    print(key.to_pem(), end="")
    return 0


def rotate_keys(args: argparse.Namespace) -> int:
    clients = cluster()
    with reporting_failures("cannot rotate the keys"):
        keyset = KeyringStore(clients.core, args.operator_namespace).rotate(
            datetime.datetime.now(datetime.UTC), period=None
        )
        PublicKeys(clients.core, args.operator_namespace).publish(keyset)
    assert keyset.active is not None  # a rotation always leaves an active key
    print(
        f"New active key {keyset.active.id}; {len(keyset.keys) - 1} older keys keep opening "
        "what they sealed. Seal again to move payloads to the new key."
    )
    return 0
