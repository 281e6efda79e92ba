"""The one place that builds Kubernetes API clients and reads their errors.

Clients come from ``KUBECONFIG`` (or ``~/.kube/config``) and fall back to the in-cluster
service account, as ``kubectl`` and ``kopf run`` do.

NB: the ``kubernetes`` package's ``ApiException`` prints the whole response body, and
its models print every field, Secret data included. Neither may reach a log or a status:
:func:`describe_api_error` keeps only the status code and the apiserver's reason word.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException


def new_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """An API client for the kubeconfig given, ``KUBECONFIG``, or the in-cluster account."""
    try:
        api: client.ApiClient = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except (ConfigException, FileNotFoundError, TypeError):
        if kubeconfig:
            raise
    else:
        return api
    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


@dataclass
class Clients:
    """Typed API groups over one shared connection pool."""

    api: client.ApiClient

    @cached_property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @cached_property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @cached_property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)


def describe_api_error(error: ApiException) -> str:
    """``HTTP 409 Conflict``-style text: the status and the apiserver's reason, no body."""
    reason = ""
    try:
        reason = json.loads(error.body or "{}").get("reason") or ""
    except (ValueError, AttributeError):
        reason = ""
    return f"HTTP {error.status} {reason or error.reason or ''}".rstrip()
