"""Talking to the cluster from the command line: clients, and errors that read well."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from envpayload.cli.common import fail
from envpayload.errors import EnvPayloadError
from envpayload.kube import Clients, new_api_client


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
