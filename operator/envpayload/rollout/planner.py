"""The rollout step's part of a sync: read the workloads, then plan (in the sync's thread).

For each sync the reconciler opens a :class:`Planning` and calls it twice:

- :meth:`Planning.before_write`, just before the Secret is written. It refuses content
  that was rolled back (the ``envpayload.io/rolled-back`` mark on the live Secret), and
  records a baseline on every consumer the operator knows nothing about yet, while the
  live Secret still holds the content those pods started with;
- :meth:`Planning.plan`, after the apply, on every sync (not only the ones that wrote):
  that is what makes a crash between the write and the restarts harmless, because the
  next sync finds the consumers that are not settled with the content and restarts them.

A sync that writes lists the workloads once, before the write, and plans on that list
with the baselines it just recorded; a sync that writes nothing lists them when it plans.

Executing the plan (restarts, waiting for health) is the controller's job, on the event
loop, through ``runner.RolloutRunner``; nothing here waits.

NB: every sync therefore lists the namespace's Deployments, StatefulSets and DaemonSets
(three LISTs), even a refresh that finds nothing new. A shared watch cache of workloads
is missing: it would have to be at least as fresh as the markers this operator just
patched, or a crash-safe plan could restart a workload twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping
from typing import Any

from envpayload.rollout.cluster import WorkloadApi, WorkloadGoneError
from envpayload.rollout.consumers import consumption_of
from envpayload.rollout.markers import (
    ROLLED_BACK_ANNOTATION,
    Changes,
    Fingerprints,
    content_fingerprint,
)
from envpayload.rollout.plan import Content, RolloutPlan, baselines, plan_rollout
from envpayload.rollout.workloads import (
    Consumer,
    Selection,
    check_selector,
    describe,
    select_consumers,
)
from envpayload.spec import Rollout, WorkloadRef

logger = logging.getLogger(__name__)


class RolloutPlanner:
    """Plans the rollouts of every EnvPayload; one per operator process."""

    def __init__(self, api: WorkloadApi, fingerprints: Fingerprints) -> None:
        self.api = api
        self.fingerprints = fingerprints

    def readers(self, namespace: str, secret_names: Collection[str]) -> dict[str, list[str]]:
        """For each of ``secret_names``, the workloads in ``namespace`` whose pods read it."""
        workloads = self.api.list(namespace)
        return {
            name: [
                describe(w.ref) for w in workloads if consumption_of(w.pod_spec, name) is not None
            ]
            for name in secret_names
        }

    def start(
        self,
        *,
        namespace: str,
        envpayload: str,
        secret_name: str,
        rollout: Rollout,
        desired: Mapping[str, str],
    ) -> Planning:
        """The planning of one sync that wants ``desired`` data in ``secret_name``.

        A selector that is not valid fails here, before anything is written.
        """
        check_selector(rollout.selector)
        return Planning(self, namespace, envpayload, secret_name, rollout, desired)


class Planning:
    """The rollout planning of one sync of one EnvPayload."""

    def __init__(
        self,
        planner: RolloutPlanner,
        namespace: str,
        envpayload: str,
        secret_name: str,
        rollout: Rollout,
        desired: Mapping[str, str],
    ) -> None:
        self._planner = planner
        self._namespace = namespace
        self._envpayload = envpayload
        self._secret_name = secret_name
        self._rollout = rollout
        self._desired = desired
        self._selection: Selection | None = None

    def before_write(self, live: Mapping[str, str] | None, annotations: Mapping[str, str]) -> bool:
        """Whether ``desired`` may replace ``live`` (None: no Secret yet); records baselines."""
        fingerprints = self._planner.fingerprints
        if annotations.get(ROLLED_BACK_ANNOTATION) == content_fingerprint(
            fingerprints, self._desired
        ):
            return False
        if self._rollout.mode == "Off":
            return True

        selection = self._select()
        recorded = {
            w.ref: c for w, c in baselines(selection, self._secret_name, live, fingerprints)
        }
        for ref, changes in list(recorded.items()):
            try:
                self._planner.api.patch(self._namespace, ref, changes)
            except WorkloadGoneError:
                del recorded[ref]  # deleted since the listing: nothing left to restart
                continue
            logger.info(
                "Recorded the content %s/%s runs with before Secret %s changes",
                self._namespace,
                describe(ref),
                self._secret_name,
            )
        # Plan on this listing, as it is now that the baselines are written.
        self._selection = _with_changes(selection, recorded)
        return True

    def plan(self, content: Content) -> RolloutPlan:
        """What the consumers need, now that the Secret holds ``content.current``."""
        if self._rollout.mode == "Off":
            return RolloutPlan(self._namespace, self._envpayload, self._secret_name, self._rollout)
        return plan_rollout(
            self._selection or self._select(),
            content,
            namespace=self._namespace,
            envpayload=self._envpayload,
            secret_name=self._secret_name,
            rollout=self._rollout,
            fingerprints=self._planner.fingerprints,
        )

    def restore_manifest(
        self, manifest: Mapping[str, Any], previous: Mapping[str, str]
    ) -> dict[str, Any]:
        """The Secret a rollback writes: the rendered ``manifest`` with the previous data, marked.

        The mark names the content that failed (by its keyed fingerprint), so the next
        syncs refuse to write it again until the source changes.
        """
        metadata = dict(manifest["metadata"])
        metadata["annotations"] = {
            **(metadata.get("annotations") or {}),
            ROLLED_BACK_ANNOTATION: content_fingerprint(self._planner.fingerprints, self._desired),
        }
        return {**manifest, "metadata": metadata, "data": dict(previous)}

    def _select(self) -> Selection:
        workloads = self._planner.api.list(self._namespace)
        return select_consumers(workloads, self._secret_name, self._rollout)


def _with_changes(selection: Selection, written: Mapping[WorkloadRef, Changes]) -> Selection:
    """``selection`` with the metadata annotations just written applied to its workloads."""

    def updated(consumer: Consumer) -> Consumer:
        changes = written.get(consumer.workload.ref)
        if changes is None:
            return consumer
        annotations = {**consumer.workload.annotations, **changes.metadata}
        workload = dataclasses.replace(
            consumer.workload,
            annotations={k: v for k, v in annotations.items() if v is not None},
        )
        return dataclasses.replace(consumer, workload=workload)

    return dataclasses.replace(selection, consumers=tuple(updated(c) for c in selection.consumers))
