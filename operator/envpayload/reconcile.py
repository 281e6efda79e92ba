"""One sync of one EnvPayload: the pipeline's steps, in order, all or nothing.

    fetch -> open -> parse -> validate -> render | apply -> roll out

Every step before ``apply`` is free of side effects, so a failure anywhere up to and
including validation leaves the live Secret and the workloads exactly as they were.
The caller (the controller) turns the result or the error into status, Events, metrics
and alerts; this module only decides and writes the Secret.

It is synchronous on purpose: the Kubernetes and GitHub clients block, so the controller
runs each sync in a worker thread, never on the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envpayload.apply import Applied, apply_secret
from envpayload.errors import EnvelopeError, ReplayError
from envpayload.fetch import Fetched, Fetcher
from envpayload.parse import parse_bytes
from envpayload.render import Owner, render_secret
from envpayload.report.events import SEALING_KEY_RETIRED
from envpayload.report.status import Synced
from envpayload.sealing import Opened, Opener, is_sealed
from envpayload.spec import EnvPayloadSpec, GitHubSource, InlineSource, read_spec
from envpayload.validate import Rules, validate_payload

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subject:
    """The EnvPayload being reconciled; its status is the freshest the sync loop knows."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: Mapping[str, Any]
    status: Mapping[str, Any]

    @property
    def owner(self) -> Owner:
        return Owner(namespace=self.namespace, name=self.name, uid=self.uid)


@dataclass(frozen=True)
class Outcome:
    """A successful sync: what status reports, and what the rollout step needs."""

    spec: EnvPayloadSpec
    synced: Synced
    applied: Applied
    opened: Opened | None


class Reconciler:
    """Runs the pipeline with the adapters it is given (real ones, or local test servers)."""

    def __init__(self, core: Any, fetchers: Mapping[str, Fetcher], opener: Opener | None) -> None:
        self._core = core
        self._fetchers = fetchers
        self._opener = opener

    def sync(self, subject: Subject) -> Outcome:
        """Bring the target Secret in line with the source; raise EnvPayloadError if not."""
        spec = read_spec(subject.name, subject.spec)

        fetched = self._fetchers[spec.source_kind].fetch(subject.namespace, spec.source)
        opened, plaintext = self._open(subject, spec, fetched)
        payload = parse_bytes(plaintext)
        report = validate_payload(
            payload,
            Rules(
                required=spec.validation.required,
                allow_empty=spec.validation.allow_empty,
                file_key=spec.target.file_key,
            ),
        )

        desired = render_secret(subject.owner, spec.target, payload)
        applied = apply_secret(self._core, desired, subject.owner, adopt=spec.target.adopt)
        if applied.written:
            logger.info(
                "Wrote Secret %s/%s from %s (%s); changed keys: %s",
                subject.namespace,
                applied.secret_name,
                fetched.where,
                fetched.version,
                ", ".join(applied.changed_keys) or "none",
            )

        synced = Synced(
            source_kind=spec.source_kind,
            source_version=fetched.version,
            secret_name=applied.secret_name,
            keys=report.keys,
            written=applied.written,
            changed_keys=applied.changed_keys,
            warnings=report.warnings,
            sealing_key_id=opened.key_id if opened else None,
            sealed_serial=opened.serial if opened else None,
            extra_conditions=_sealing_conditions(opened, subject.status),
        )
        return Outcome(spec=spec, synced=synced, applied=applied, opened=opened)

    def _open(
        self, subject: Subject, spec: EnvPayloadSpec, fetched: Fetched
    ) -> tuple[Opened | None, bytes]:
        """Open sealed content; refuse plain text where the source must be sealed."""
        if not is_sealed(fetched.content):
            must_seal = isinstance(spec.source, InlineSource) or (
                isinstance(spec.source, GitHubSource) and not spec.source.allow_plaintext
            )
            if must_seal:
                raise EnvelopeError(
                    f"{fetched.where} is not a sealed envelope; seal it with `envpayload seal`"
                )
            return None, fetched.content

        if self._opener is None:
            raise EnvelopeError("this operator has no keyring to open sealed envelopes")
        opened = self._opener.open(fetched.content, subject.namespace, subject.name)

        # Replay protection: an envelope older than the last one applied is most likely an
        # old credential brought back from git history.
        # subject.status is the freshest known: the sync loop passes what it last wrote
        # when the watch event carrying that write has not arrived yet.
        last_serial = subject.status.get("sealedSerial")
        if (
            isinstance(last_serial, int)
            and opened.serial < last_serial
            and not spec.allow_older_serial
        ):
            raise ReplayError(opened.serial, last_serial)
        return opened, opened.plaintext


def _sealing_conditions(
    opened: Opened | None, previous: Mapping[str, Any]
) -> Sequence[Mapping[str, str]]:
    """``SealingKeyRetired``: True while the payload is sealed with a retired key.

    It tells the owner to re-seal, so the old key can eventually be deleted. A payload
    that is not sealed gets the condition only to clear one left from an earlier seal.
    """
    if opened is None:
        if not any(c.get("type") == SEALING_KEY_RETIRED for c in previous.get("conditions") or ()):
            return ()
        status, reason, message = "False", "NotSealed", "the payload is not sealed"
    elif opened.retired_key:
        status, reason = "True", "SealedWithRetiredKey"
        message = (
            f"the payload was sealed with key {opened.key_id}, which has been retired; "
            "seal it again with `envpayload seal` so the old key can be deleted"
        )
    else:
        status, reason = "False", "SealedWithActiveKey"
        message = f"the payload is sealed with the active key {opened.key_id}"
    return ({"type": SEALING_KEY_RETIRED, "status": status, "reason": reason, "message": message},)
