"""Restart markers: what the operator writes on workloads, and how it reads them back.

Whether a workload must restart is decided from content, never from time or memory, so
the decision survives a crash, an operator restart and a leader change. For every
(workload, Secret) pair the operator keeps one fingerprint: a keyed HMAC (see
``keyring.Fingerprinter``) of the keys the workload consumes and their current values.
It lives in two annotations named after the Secret:

``fingerprint.envpayload.io/<secret>`` in the pod template
    the restart marker. Writing a new value changes the template, which is what makes
    the workload controller roll the pods; the value says which content they start with.

``settled.envpayload.io/<secret>`` in the workload's own metadata
    the content the workload is settled with: restarted onto, announced (``Notify``), held
    when a Sequential rollout stopped, or the baseline recorded just before the Secret
    first changed under a workload the operator had never restarted. Metadata
    annotations do not touch the template, so writing one never restarts anything.

A workload restarts exactly when its settled fingerprint (or, without one, its marker)
differs from the fingerprint of what it consumes now. A workload with neither has never
been seen changing: it is taken to be current, so meeting a workload for the first time
restarts nothing.

Every value carries the id of the key that made it (``<key id>-<fingerprint>``). A value
made with another key (the keyring was replaced) cannot be compared, and is treated as
absent rather than as a change: replacing the keyring must not restart every consumer.

The Secret itself may carry ``envpayload.io/rolled-back``: the fingerprint of content
whose rollout failed and was rolled back, which the operator then refuses to apply again
until the source changes (see ``docs/rollouts.md``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from envpayload.rollout.consumers import Consumption

MARKER_PREFIX: Final = "fingerprint.envpayload.io"
SETTLED_PREFIX: Final = "settled.envpayload.io"
ROLLED_BACK_ANNOTATION: Final = "envpayload.io/rolled-back"

# The name part of an annotation key: at most 63 characters, alphanumeric at both ends.
_NAME_LIMIT: Final = 63
_VALID_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_KEY_ID_INPUT: Final = (("envpayload.io/key-id", ""),)
_KEY_ID_LENGTH: Final = 6


class Fingerprints(Protocol):
    """Keyed fingerprints of (name, value) pairs (``keyring.Fingerprinter``)."""

    def of(self, parts: Iterable[tuple[str, str]]) -> str: ...


def annotation_name(secret_name: str) -> str:
    """The name part of the annotation keys for ``secret_name``.

    Secret names may be 253 characters long, annotation names only 63: a longer name is
    cut and given a digest of the whole name (a name is not secret), so two long names
    never share an annotation.
    """
    if len(secret_name) <= _NAME_LIMIT and _VALID_NAME.fullmatch(secret_name):
        return secret_name
    digest = hashlib.sha256(secret_name.encode()).hexdigest()[:10]
    stem = secret_name[: _NAME_LIMIT - len(digest) - 1].rstrip("-_.")
    return f"{stem}-{digest}"


def marker_key(secret_name: str) -> str:
    return f"{MARKER_PREFIX}/{annotation_name(secret_name)}"


def settled_key(secret_name: str) -> str:
    return f"{SETTLED_PREFIX}/{annotation_name(secret_name)}"


def key_id(fingerprints: Fingerprints) -> str:
    """A short id of the fingerprint key: a fingerprint of a public constant."""
    return fingerprints.of(_KEY_ID_INPUT)[:_KEY_ID_LENGTH]


def fingerprint(
    fingerprints: Fingerprints, data: Mapping[str, str], consumption: Consumption
) -> str:
    """The marker value for the keys ``consumption`` takes from Secret ``data``.

    ``data`` holds the Secret's base64 values. Only keys present take part, by name and
    value, so a key that appears, disappears or changes gives another fingerprint.
    """
    keys = consumption.taken_from(data)
    return f"{key_id(fingerprints)}-{fingerprints.of((key, data[key]) for key in keys)}"


def content_fingerprint(fingerprints: Fingerprints, data: Mapping[str, str]) -> str:
    """The fingerprint of a whole Secret's content (the rolled-back mark)."""
    return f"{key_id(fingerprints)}-{fingerprints.of(data.items())}"


def settled_fingerprint(
    fingerprints: Fingerprints,
    annotations: Mapping[str, str],
    template_annotations: Mapping[str, str],
    secret_name: str,
) -> str | None:
    """The fingerprint a workload is settled with for ``secret_name``, None when unknown."""
    own = key_id(fingerprints) + "-"
    for value in (
        annotations.get(settled_key(secret_name)),
        template_annotations.get(marker_key(secret_name)),
    ):
        if value is not None and value.startswith(own):
            return value
    return None


@dataclass(frozen=True)
class Changes:
    """Annotations to set (a value) or remove (None) on one workload, in one patch.

    Changes for several Secrets merge into one patch, which is how several EnvPayloads
    that change together restart a shared workload once.
    """

    metadata: Mapping[str, str | None] = field(default_factory=dict)
    template: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def restarts(self) -> bool:
        """True when the patch changes the pod template, so the pods roll."""
        return bool(self.template)

    def merged(self, later: Changes) -> Changes:
        """These changes with ``later`` on top (the later value of a key wins)."""
        return Changes(
            metadata={**self.metadata, **later.metadata},
            template={**self.template, **later.template},
        )

    def merge_patch(self) -> dict[str, Any]:
        """The JSON merge patch that makes these changes (None removes a key)."""
        patch: dict[str, Any] = {}
        if self.metadata:
            patch["metadata"] = {"annotations": dict(self.metadata)}
        if self.template:
            patch["spec"] = {"template": {"metadata": {"annotations": dict(self.template)}}}
        return patch


def restart_changes(secret_name: str, fingerprint: str) -> Changes:
    """Roll the pods onto ``fingerprint``, and record it as settled."""
    return Changes(
        metadata={settled_key(secret_name): fingerprint},
        template={marker_key(secret_name): fingerprint},
    )


def settle_changes(secret_name: str, fingerprint: str) -> Changes:
    """Record ``fingerprint`` as settled without touching the pods."""
    return Changes(metadata={settled_key(secret_name): fingerprint})


def revert_changes(secret_name: str, marker_before: str | None, settled_before: str) -> Changes:
    """Put the marker back as it was before a restart (None removes it).

    For a Deployment, the template then equals the previous one again, and the
    controller scales the previous ReplicaSet back up instead of starting new pods.
    """
    return Changes(
        metadata={settled_key(secret_name): settled_before},
        template={marker_key(secret_name): marker_before},
    )
