"""The ``secretRef`` source: a Secret in the EnvPayload's own namespace.

This is how CI usually hands a payload over (``kubectl create secret generic app-env
--from-file=.env=.env.production``). The version marker is the Secret's resourceVersion;
changes are noticed at once through the controller's watch on Secrets, not by polling.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.errors import SourceError, SourceForbiddenError, SourceNotFoundError
from envpayload.fetch import Fetched
from envpayload.kube import describe_api_error
from envpayload.spec import SecretRefSource, Source

# Key names a "no such key" message lists (names only: a Secret's keys are not secret).
MAX_KEYS_NAMED: Final = 10


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

        data = secret.data or {}
        encoded = data.get(source.key)
        if encoded is None:
            raise SourceNotFoundError(f"{where}: {_missing_key(data)}")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SourceError(f"{where}: the value is not valid base64") from None
        version = secret.metadata.resource_version if secret.metadata else None
        return Fetched(content=content, version=source_version(str(version)), where=where)


def _missing_key(data: Mapping[str, object]) -> str:
    """Why the key is not there, naming the keys that are (`--from-file` picks the name)."""
    if not data:
        return "the Secret has no keys at all"
    names = sorted(data)
    shown = ", ".join(names[:MAX_KEYS_NAMED]) + (", ..." if len(names) > MAX_KEYS_NAMED else "")
    return f"no such key; the Secret has {shown} (set spec.source.secretRef.key)"


def source_version(resource_version: str) -> str:
    """The version marker of a source Secret at ``resource_version`` (``rv:...``)."""
    return f"rv:{resource_version}"
