"""Which sealing keys the cluster's EnvPayloads still use, for deleting retired keys safely.

A key is in use when an EnvPayload's status names it (``status.sealingKeyId``: it opened
the payload now in the Secret) or when an inline envelope's header names it. Envelopes in
source Secrets or GitHub files are only seen through status, so an EnvPayload that is
not in sync at its current generation makes the scan incomplete, and an incomplete scan
deletes nothing (see ``sealing/lifecycle.py``).

The scan lists EnvPayloads in every namespace, even when the operator watches only a
few: an envelope sealed for this operator's keys may sit anywhere. Without the right to
list them all, the scan is incomplete and every key stays.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.conventions import find_condition
from envpayload.errors import EnvelopeError
from envpayload.kube import describe_api_error
from envpayload.sealing.envelope import HEADER_SPAN, read_header
from envpayload.sealing.lifecycle import KeyUsage
from envpayload.spec import GROUP, PLURAL, VERSION

PAGE_SIZE: Final = 500


def scan_key_usage(custom: client.CustomObjectsApi) -> KeyUsage:
    """List every EnvPayload in the cluster and see which keys they use."""
    objects: list[Mapping[str, Any]] = []
    token: str | None = None
    try:
        while True:
            page: Any = custom.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, limit=PAGE_SIZE, _continue=token
            )
            objects += page.get("items") or []
            token = (page.get("metadata") or {}).get("continue") or None
            if token is None:
                break
    except ApiException as e:
        return KeyUsage(error=f"listing EnvPayloads failed: {describe_api_error(e)}")
    return usage_of(objects)


def usage_of(objects: Iterable[Mapping[str, Any]]) -> KeyUsage:
    """The key usage of these EnvPayload objects (raw API dictionaries)."""
    users: dict[str, set[str]] = {}
    unsettled: list[str] = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        who = f"{meta.get('namespace')}/{meta.get('name')}"
        for key_id in _key_ids(obj):
            users.setdefault(key_id, set()).add(who)
        # An EnvPayload on its way out no longer needs a key; it still counts as a user
        # above while it exists, but it must not keep the scan incomplete forever.
        if not meta.get("deletionTimestamp") and not _settled(obj):
            unsettled.append(who)
    return KeyUsage(
        users={key_id: frozenset(names) for key_id, names in users.items()},
        unsettled=tuple(sorted(unsettled)),
    )


def _key_ids(obj: Mapping[str, Any]) -> set[str]:
    ids = set()
    status = obj.get("status") or {}
    if isinstance(status.get("sealingKeyId"), str):
        ids.add(status["sealingKeyId"])
    inline = ((obj.get("spec") or {}).get("source") or {}).get("inline") or {}
    sealed = inline.get("sealed")
    if isinstance(sealed, str):
        with contextlib.suppress(EnvelopeError):  # a malformed envelope needs no key
            # The CRD's pattern allows no leading whitespace: the header is at the start.
            head = sealed[:HEADER_SPAN].encode("ascii", errors="replace")
            ids.add(read_header(head).key_id)
    return ids


def _settled(obj: Mapping[str, Any]) -> bool:
    """True when the EnvPayload is Ready at its current generation."""
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    ready = find_condition(status, "Ready")
    return ready.get("status") == "True" and status.get("observedGeneration") == generation
