"""What several subcommands share: input files, errors, the cluster and its operator."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from envpayload.errors import EnvPayloadError
from envpayload.kube import Clients, new_api_client
from envpayload.settings import DEFAULT_OPERATOR_NAMESPACE

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


def add_operator_namespace(parser: argparse.ArgumentParser) -> None:
    """``--operator-namespace``: where the operator keeps its keyring and public keys."""
    parser.add_argument(
        "--operator-namespace",
        metavar="NS",
        default=os.environ.get("ENVPAYLOAD_NAMESPACE") or DEFAULT_OPERATOR_NAMESPACE,
        help="the operator's own namespace (default: $ENVPAYLOAD_NAMESPACE or %(default)s)",
    )


def cluster() -> Clients:
    """API clients for the cluster ``KUBECONFIG`` names; exit 1 when there is none."""
    try:
        return Clients(new_api_client())
    except (ConfigException, FileNotFoundError, TypeError) as e:
        fail(f"no cluster to talk to (set KUBECONFIG): {e}")


@contextlib.contextmanager
def reporting_failures(what: str) -> Iterator[None]:
    """Turn errors talking to the cluster into ``envpayload: error: what: why``, exit 1."""
    try:
        yield
    except EnvPayloadError as e:
        fail(f"{what}: {e}")
    except HTTPError as e:  # the apiserver did not answer at all
        fail(f"{what}: the cluster did not answer ({type(e).__name__})")
