"""What one sync's rollout must do: a pure decision per consumer, made from content.

:func:`plan_rollout` runs after the Secret was applied (or found already applied) and
compares, for every consumer, the fingerprint it is settled with against the fingerprint
of the keys it consumes now (see ``markers``). It never looks at what changed in this
sync to decide, only to explain: after a crash between writing the Secret and restarting
its consumers, the next sync finds nothing to write but still finds every consumer that
is not settled with the new content, and restarts each exactly once.

:func:`baselines` runs just before the Secret is written: consumers the operator has
never settled are given the fingerprint of the content they run with now, so the change
about to be written is seen as a change (and a crash right after the write cannot hide
it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from envpayload.rollout.markers import (
    Changes,
    Fingerprints,
    fingerprint,
    marker_key,
    settle_changes,
    settled_fingerprint,
)
from envpayload.rollout.workloads import Consumer, Selection, Workload
from envpayload.spec import Rollout, WorkloadRef

Action = Literal["Restart", "Notify", "Paused"]

RESTART: Final = "Restart"
NOTIFY: Final = "Notify"
PAUSED: Final = "Paused"


@dataclass(frozen=True)
class Decision:
    """One consumer that is not settled with the current content, and what to do."""

    ref: WorkloadRef
    uid: str
    action: Action
    keys: tuple[str, ...]
    fingerprint: str
    # What a rollback puts back: the template marker before the restart (None: there
    # was none) and the fingerprint of the consumed keys in the previous content.
    marker_before: str | None = None
    previous_fingerprint: str | None = None


@dataclass(frozen=True)
class RolloutPlan:
    """Every decision of one sync, with what executing them needs to know."""

    namespace: str
    envpayload: str
    secret_name: str
    rollout: Rollout
    decisions: tuple[Decision, ...] = ()
    consumers: tuple[WorkloadRef, ...] = ()
    missing: tuple[WorkloadRef, ...] = ()
    # Writes the previous content back (with the rolled-back mark); None when there is no
    # previous content (the Secret was created by this sync) or rollback is off.
    restore: Callable[[], object] | None = field(default=None, repr=False, compare=False)

    @property
    def restarts(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.action == RESTART)


@dataclass(frozen=True)
class Content:
    """The Secret's data (base64) after this sync's apply and before it, and the keys
    the apply changed (none when it wrote nothing)."""

    current: Mapping[str, str] = field(repr=False)
    previous: Mapping[str, str] | None = field(default=None, repr=False)
    changed_keys: Sequence[str] = ()


def plan_rollout(
    selection: Selection,
    content: Content,
    *,
    namespace: str,
    envpayload: str,
    secret_name: str,
    rollout: Rollout,
    fingerprints: Fingerprints,
) -> RolloutPlan:
    """Decide, for every consumer in ``selection``, whether it must restart."""
    decisions = (
        decide(c, content, secret_name=secret_name, rollout=rollout, fingerprints=fingerprints)
        for c in selection.consumers
    )
    return RolloutPlan(
        namespace=namespace,
        envpayload=envpayload,
        secret_name=secret_name,
        rollout=rollout,
        decisions=tuple(d for d in decisions if d is not None),
        consumers=tuple(c.workload.ref for c in selection.consumers),
        missing=selection.missing,
    )


def decide(
    consumer: Consumer,
    content: Content,
    *,
    secret_name: str,
    rollout: Rollout,
    fingerprints: Fingerprints,
) -> Decision | None:
    """What ``consumer`` needs, or None when it is settled with the content (or unknown)."""
    workload, consumption = consumer.workload, consumer.consumption
    now = fingerprint(fingerprints, content.current, consumption)
    settled = settled_fingerprint(
        fingerprints, workload.annotations, workload.template_annotations, secret_name
    )
    if settled is None or settled == now:
        return None

    # The keys to name: those this sync changed, or after a crash (nothing changed in
    # this sync, the change was written by an earlier one) every key it consumes.
    keys = consumption.taken_from(content.changed_keys) or consumption.taken_from(content.current)
    action: Action = RESTART
    if rollout.mode == "Notify":
        action = NOTIFY
    elif workload.paused:
        action = PAUSED

    return Decision(
        ref=workload.ref,
        uid=workload.uid,
        action=action,
        keys=keys,
        fingerprint=now,
        marker_before=workload.template_annotations.get(marker_key(secret_name)),
        previous_fingerprint=None
        if content.previous is None
        else fingerprint(fingerprints, content.previous, consumption),
    )


def baselines(
    selection: Selection,
    secret_name: str,
    live: Mapping[str, str] | None,
    fingerprints: Fingerprints,
) -> list[tuple[Workload, Changes]]:
    """Settled fingerprints to record before ``live`` content is replaced.

    Only for consumers the operator knows nothing about yet; a Secret that does not
    exist yet counts as empty (a pod that reads an optional Secret started without it).
    """
    found = []
    for consumer in selection.consumers:
        workload = consumer.workload
        known = settled_fingerprint(
            fingerprints, workload.annotations, workload.template_annotations, secret_name
        )
        if known is None:
            value = fingerprint(fingerprints, live or {}, consumer.consumption)
            found.append((workload, settle_changes(secret_name, value)))
    return found
