"""One sync of one EnvPayload: the pipeline's steps, in order, all or nothing.

    fetch -> open -> parse -> validate -> render | apply -> roll out

Every step before ``apply`` is free of side effects, so a failure anywhere up to and
including validation leaves the live Secret and the workloads exactly as they were.
The caller (the controller) turns the result or the error into status, Events, metrics
and alerts; this module only decides and writes the Secret.

The roll-out step is split in two: planning happens here, in the sync's thread (which
consumers must restart, decided from content on every sync), and carrying the plan out
(restarts, waiting for health, rollback) happens on the event loop, in the controller.

It is synchronous on purpose: the Kubernetes and GitHub clients block, so the controller
runs each sync in a worker thread, never on the event loop.

When ``spec.target.name`` changes, the Secret written under the former name would no
longer follow the source, so a successful sync lets go of it: under ``deletionPolicy:
Delete`` it is deleted once no workload reads it (until then it is kept, named in
``status.formerSecretNames`` and a warning, and each sync tries again); under
``Retain`` it stays, released from this EnvPayload.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envpayload.apply import Applied, apply_secret, retire_secret
from envpayload.conventions import find_condition
from envpayload.errors import (
    ConflictError,
    EnvelopeError,
    EnvPayloadError,
    ReplayError,
    RolledBackError,
)
from envpayload.fetch import Fetched, Fetcher
from envpayload.parse import parse_bytes
from envpayload.render import Owner, render_secret
from envpayload.report.events import SEALING_KEY_RETIRED
from envpayload.report.status import Synced
from envpayload.rollout.plan import Content, RolloutPlan
from envpayload.rollout.planner import Planning, RolloutPlanner
from envpayload.rollout.summary import RolloutReport
from envpayload.rollout.workloads import describe
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
    """A successful sync: what status reports, and what the rollout step needs.

    ``plan`` is what the consumers need (None without a rollout planner); ``rollout`` is
    what carrying it out did, filled in by the controller. ``held`` is set when the
    source's content was rolled back earlier and was therefore not applied: the sync
    kept the consumers on the live content, and reports the error.
    """

    spec: EnvPayloadSpec
    synced: Synced
    applied: Applied
    opened: Opened | None
    plan: RolloutPlan | None = None
    rollout: RolloutReport | None = None
    held: EnvPayloadError | None = None


class Reconciler:
    """Runs the pipeline with the adapters it is given (real ones, or local test servers)."""

    def __init__(
        self,
        core: Any,
        fetchers: Mapping[str, Fetcher],
        opener: Opener | None,
        rollouts: RolloutPlanner | None = None,
    ) -> None:
        self._core = core
        self._fetchers = fetchers
        self._opener = opener
        self._rollouts = rollouts

    def sync(self, subject: Subject) -> Outcome:
        """Bring the target Secret in line with the source; raise EnvPayloadError if not."""
        spec = read_spec(subject.name, subject.spec)
        if spec.writes_its_source:
            # Only reachable with an older CRD: applying would overwrite the payload.
            raise ConflictError(
                f"the target Secret {spec.target.name} is the source Secret; "
                "set spec.target.name to another name"
            )

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
        planning = (
            self._rollouts.start(
                namespace=subject.namespace,
                envpayload=subject.name,
                secret_name=spec.target.name,
                rollout=spec.rollout,
                desired=desired["data"],
            )
            if self._rollouts is not None
            else None
        )
        applied = apply_secret(
            self._core,
            desired,
            subject.owner,
            adopt=spec.target.adopt,
            before_write=planning.before_write if planning is not None else None,
        )
        if applied.written:
            logger.info(
                "Wrote Secret %s/%s from %s (%s); changed keys: %s",
                subject.namespace,
                applied.secret_name,
                fetched.where,
                fetched.version,
                ", ".join(applied.changed_keys) or "none",
            )

        plan = self._plan(subject, spec, desired, applied, planning)
        missing = plan.missing if plan is not None else ()
        kept, kept_warnings = self._let_go_of_former_targets(subject, spec)
        synced = Synced(
            source_kind=spec.source_kind,
            source_version=fetched.version,
            secret_name=applied.secret_name,
            keys=report.keys,
            written=applied.written,
            changed_keys=applied.changed_keys,
            warnings=(
                *report.warnings,
                *(f"rollout target {describe(ref)} does not exist" for ref in missing),
                *kept_warnings,
            ),
            former_secret_names=kept,
            sealing_key_id=opened.key_id if opened else None,
            sealed_serial=opened.serial if opened else None,
            extra_conditions=_sealing_conditions(opened, subject.status),
        )
        held = RolledBackError(applied.secret_name) if applied.withheld else None
        return Outcome(
            spec=spec, synced=synced, applied=applied, opened=opened, plan=plan, held=held
        )

    def _let_go_of_former_targets(
        self, subject: Subject, spec: EnvPayloadSpec
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Retire the Secrets written under former target names; the ones kept, and why."""
        former = former_targets(subject.status, spec.target.name)
        if not former:
            return (), ()
        delete = spec.target.deletion_policy == "Delete"
        kept: list[str] = []
        warnings: list[str] = []

        def keep(name: str, why: str) -> None:
            kept.append(name)
            warnings.append(f"Secret {name}, a former target, is kept {why}")

        try:
            # Deleting a Secret that pods read would stop them from starting again.
            readers = self._readers(subject.namespace, former) if delete else {}
        except EnvPayloadError as e:
            for name in former:
                keep(name, f"for now: {e}")
            return tuple(kept), tuple(warnings)

        for name in former:
            if readers.get(name):
                keep(name, f"while {', '.join(readers[name])} read it")
                continue
            try:
                what = retire_secret(
                    self._core, subject.namespace, name, subject.owner, delete=delete
                )
            except EnvPayloadError as e:
                keep(name, f"for now: {e}")
                continue
            if what != "gone":
                logger.info(
                    "%s Secret %s/%s, a former target of EnvPayload %s",
                    what.capitalize(),
                    subject.namespace,
                    name,
                    subject.name,
                )
        return tuple(kept), tuple(warnings)

    def _readers(self, namespace: str, secret_names: list[str]) -> dict[str, list[str]]:
        if self._rollouts is None:
            raise EnvPayloadError("who reads it cannot be told without the rollout step")
        return self._rollouts.readers(namespace, secret_names)

    def _plan(
        self,
        subject: Subject,
        spec: EnvPayloadSpec,
        desired: dict[str, Any],
        applied: Applied,
        planning: Planning | None,
    ) -> RolloutPlan | None:
        """Which consumers must restart, decided from the content the Secret holds now."""
        if planning is None:
            return None
        plan = planning.plan(Content(applied.current, applied.previous, applied.changed_keys))
        # A rollback can only go back to content this very sync replaced.
        if spec.rollout.rollback_on_failure and applied.written and applied.previous:
            manifest = planning.restore_manifest(desired, applied.previous)

            # A closure, not a partial: a partial's repr would print the manifest's data.
            def restore() -> Applied:
                return apply_secret(self._core, manifest, subject.owner, adopt=True)

            plan = dataclasses.replace(plan, restore=restore)
        return plan

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
        # NB: the last serial lives in this EnvPayload's status only, so deleting and
        # re-creating the EnvPayload forgets it; a cluster-wide serial record is missing.
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
        if not find_condition(previous, SEALING_KEY_RETIRED):
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


def former_targets(status: Mapping[str, Any], target: str) -> list[str]:
    """The Secrets this EnvPayload wrote under other target names and may still hold."""
    names = {n for n in status.get("formerSecretNames") or () if isinstance(n, str)}
    last = status.get("secretName")
    if isinstance(last, str):
        names.add(last)
    names.discard("")
    names.discard(target)
    return sorted(names)
