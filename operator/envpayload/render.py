"""The Secret a payload should produce: a pure function, so it can be shown and tested.

The rendered manifest is exactly what the operator applies with server-side apply, and
exactly what ``envpayload render`` prints. Nothing in it depends on time or on where the
payload came from, so the same content always renders the same Secret and a refresh of
unchanged content has nothing to write.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Final

from envpayload.payload import Payload
from envpayload.spec import API_VERSION, KIND, Target

MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "envpayload-operator"
OWNER_LABEL: Final = "envpayload.io/envpayload"


@dataclass(frozen=True)
class Owner:
    """The EnvPayload a Secret is rendered for."""

    namespace: str
    name: str
    uid: str


def render_secret(owner: Owner, target: Target, payload: Payload) -> dict[str, Any]:
    """The Secret manifest for ``payload``, as ``owner`` asks for it in ``target``."""
    data = {key: _b64(value.reveal()) for key, value in payload.items()}
    if target.file_key is not None:
        data[target.file_key] = _b64(payload.text.reveal())

    metadata: dict[str, Any] = {
        "name": target.name,
        "namespace": owner.namespace,
        "labels": {MANAGED_BY_LABEL: MANAGED_BY, OWNER_LABEL: owner.name},
    }
    # With Retain the Secret must outlive its EnvPayload, so it carries no owner reference
    # for the garbage collector to follow; the label still says who manages it.
    if target.deletion_policy == "Delete":
        metadata["ownerReferences"] = [
            {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": data,
    }


def redact_secret(manifest: dict[str, Any]) -> dict[str, Any]:
    """A copy of a rendered Secret with every value replaced by ``<redacted>``."""
    return {**manifest, "data": dict.fromkeys(manifest.get("data", {}), "<redacted>")}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")
