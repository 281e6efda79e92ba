"""The operator's public sealing keys, published in a ConfigMap that anyone may read.

``envpayload seal`` fetches the key to seal with from here, as ``kubeseal`` fetches its
certificate, and ``envpayload keys list`` shows what the operator holds, without either
needing access to the keyring Secret. The ConfigMap ``envpayload-sealing-keys`` in the
operator's namespace holds:

- ``active.pem``: the public key new envelopes are sealed with (the file ``--cert`` takes);
- ``keys.json``: every key the operator can open with: id, creation time, when it was
  retired (null for the active one), and its public key.

Nothing private is ever written here. The ConfigMap is rewritten only when a key was
added or deleted, so the hourly upkeep of an unchanged keyring writes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.conventions import format_time
from envpayload.errors import EnvPayloadError
from envpayload.kube import describe_api_error
from envpayload.sealing.keys import KeyFormatError, Keyset, PublicKey

PUBLIC_KEYS_CONFIGMAP: Final = "envpayload-sealing-keys"
ACTIVE_ENTRY: Final = "active.pem"
LIST_ENTRY: Final = "keys.json"

logger = logging.getLogger(__name__)


class PublicKeysError(EnvPayloadError):
    """The published keys could not be read or written."""

    # The keyring's public half: the same reason as a keyring that cannot be read.
    reason = "KeyringUnavailable"
    retryable = True


@dataclass(frozen=True)
class PublishedKey:
    """One key as published: never more than its public half and its dates."""

    public: PublicKey
    created: str
    retired: str | None

    @property
    def id(self) -> str:
        return self.public.id


def published_data(keyset: Keyset) -> dict[str, str]:
    """The ConfigMap's data for ``keyset``: a pure function of the keys."""
    active = keyset.active
    if active is None:
        return {}
    listed = []
    for key in reversed(keyset.keys):
        retired = keyset.retired_at(key.id)
        listed.append(
            {
                "id": key.id,
                "created": format_time(key.created),
                "retired": format_time(retired) if retired else None,
                "publicKey": key.public.to_pem(),
            }
        )
    return {ACTIVE_ENTRY: active.public.to_pem(), LIST_ENTRY: json.dumps(listed, indent=2)}


def read_published(data: Mapping[str, str]) -> tuple[PublishedKey, ...]:
    """The keys listed in the ConfigMap's data, newest first."""
    try:
        listed = json.loads(data[LIST_ENTRY])
        return tuple(
            PublishedKey(
                public=PublicKey.from_pem(item["publicKey"].encode()),
                created=str(item["created"]),
                retired=item["retired"],
            )
            for item in listed
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise PublicKeysError(
            f"ConfigMap {PUBLIC_KEYS_CONFIGMAP}: {LIST_ENTRY} is missing or malformed"
        ) from None


class PublicKeys:
    """Publishes and reads the ConfigMap in the operator's namespace."""

    def __init__(self, core: client.CoreV1Api, namespace: str) -> None:
        self._core = core
        self.namespace = namespace

    def publish(self, keyset: Keyset) -> bool:
        """Write the public half of ``keyset``; False when the ConfigMap already says so."""
        data = published_data(keyset)
        current = self._read()
        if current is not None and (current.data or {}) == data:
            return False

        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(
                name=PUBLIC_KEYS_CONFIGMAP,
                labels={"app.kubernetes.io/managed-by": "envpayload-operator"},
                resource_version=current.metadata.resource_version if current else None,
            ),
            data=data,
        )
        try:
            if current is None:
                self._core.create_namespaced_config_map(self.namespace, body)
            else:
                self._core.replace_namespaced_config_map(
                    PUBLIC_KEYS_CONFIGMAP, self.namespace, body
                )
        except ApiException as e:
            # 409: another replica published since we read; the next upkeep compares again.
            if e.status == 409:
                return False
            raise PublicKeysError(
                f"writing ConfigMap {PUBLIC_KEYS_CONFIGMAP}: {describe_api_error(e)}"
            ) from None
        logger.info(
            "Published %d public sealing keys in ConfigMap %s/%s; active key %s",
            len(keyset.keys),
            self.namespace,
            PUBLIC_KEYS_CONFIGMAP,
            keyset.active.id if keyset.active else "none",
        )
        return True

    def listed(self) -> tuple[PublishedKey, ...]:
        """Every published key, newest (the active one) first."""
        current = self._read()
        if current is None:
            raise PublicKeysError(
                f"ConfigMap {self.namespace}/{PUBLIC_KEYS_CONFIGMAP} does not exist: "
                "is the operator installed and running, with this operator namespace?"
            )
        return read_published(current.data or {})

    def active(self) -> PublicKey:
        """The key to seal with."""
        current = self._read()
        pem = None if current is None else (current.data or {}).get(ACTIVE_ENTRY)
        if pem is None:
            raise PublicKeysError(
                f"ConfigMap {self.namespace}/{PUBLIC_KEYS_CONFIGMAP} has no {ACTIVE_ENTRY}: "
                "is the operator installed and running, with this operator namespace?"
            )
        try:
            return PublicKey.from_pem(pem.encode())
        except KeyFormatError as e:
            raise PublicKeysError(f"ConfigMap {PUBLIC_KEYS_CONFIGMAP}: {e}") from None

    def _read(self) -> Any:
        try:
            return self._core.read_namespaced_config_map(PUBLIC_KEYS_CONFIGMAP, self.namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise PublicKeysError(
                f"reading ConfigMap {self.namespace}/{PUBLIC_KEYS_CONFIGMAP}: "
                f"{describe_api_error(e)}"
            ) from None
