"""The ``secretRef`` source: a Secret in the EnvPayload's own namespace.

This is how CI usually hands a payload over (``kubectl create secret generic app-env
--from-file=.env=.env.production``). The version marker is the Secret's resourceVersion;
changes are noticed at once through the controller's watch on Secrets, not by polling.
"""

from __future__ import annotations

import base64
import binascii

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.errors import SourceError, SourceForbiddenError, SourceNotFoundError
from envpayload.fetch import Fetched
from envpayload.kube import describe_api_error
from envpayload.spec import SecretRefSource, Source


class SecretRefFetcher:
    """Reads the payload key of a Secret in the EnvPayload's own namespace, never another."""

    def __init__(self, core: client.CoreV1Api) -> None:
        self._core = core

    def fetch(self, namespace: str, source: Source) -> Fetched:
        assert isinstance(source, SecretRefSource)
        where = f"Secret {source.name} key {source.key}"
        if source.namespace not in (None, namespace):
            raise SourceForbiddenError(
                f"{where}: an EnvPayload may only read Secrets in its own namespace"
                f" ({namespace}), not in {source.namespace}"
            )
        try:
            secret = self._core.read_namespaced_secret(source.name, namespace)
        except ApiException as e:
            if e.status == 404:
                raise SourceNotFoundError(f"{where}: the Secret does not exist") from None
            if e.status in (401, 403):
                raise SourceForbiddenError(f"{where}: {describe_api_error(e)}") from None
            raise SourceError(f"{where}: {describe_api_error(e)}") from None

        encoded = (secret.data or {}).get(source.key)
        if encoded is None:
            raise SourceNotFoundError(f"{where}: the Secret has no such key")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SourceError(f"{where}: the value is not valid base64") from None
        version = secret.metadata.resource_version if secret.metadata else None
        return Fetched(content=content, version=source_version(str(version)), where=where)


def source_version(resource_version: str) -> str:
    """The version marker of a source Secret at ``resource_version`` (``rv:...``)."""
    return f"rv:{resource_version}"
