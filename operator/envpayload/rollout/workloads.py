"""The workloads that can consume a Secret, and which of them an EnvPayload rolls.

A :class:`Workload` is the part of a Deployment, StatefulSet or DaemonSet the rollout
step reads, taken from the API's own dictionaries. :func:`select_consumers` decides the
set an EnvPayload restarts: every workload whose pod template reads the target Secret,
narrowed by ``spec.rollout.selector`` when there is one, plus the workloads named in
``spec.rollout.targets`` (a target that does not reference the Secret, say an
application that reads it through the API, is taken to consume every key).

The order of the result is the order of a Sequential rollout: the targets as listed,
then the others by kind and name, so the order never depends on the API's listing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from envpayload.errors import EnvPayloadError
from envpayload.rollout.consumers import ALL_KEYS, Consumption, Json, consumption_of
from envpayload.spec import Rollout, WorkloadRef

KINDS: Final = ("Deployment", "StatefulSet", "DaemonSet")


class SelectorError(EnvPayloadError):
    """``spec.rollout.selector`` is not a label selector this operator understands."""

    reason = "InvalidSelector"


def describe(ref: WorkloadRef) -> str:
    """``Deployment/web``, as kubectl names objects."""
    return f"{ref.kind}/{ref.name}"


@dataclass(frozen=True)
class Workload:
    """What the rollout step reads of a workload."""

    kind: str
    name: str
    uid: str
    generation: int
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    template_annotations: Mapping[str, str] = field(default_factory=dict)
    pod_spec: Json = field(default_factory=dict, repr=False)
    paused: bool = False

    @property
    def ref(self) -> WorkloadRef:
        return WorkloadRef(kind=self.kind, name=self.name)

    @classmethod
    def from_api(cls, kind: str, obj: Json) -> Workload:
        """Read a workload from the API's JSON (as served, camelCase)."""
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        template = spec.get("template") or {}
        return cls(
            kind=kind,
            name=meta["name"],
            uid=meta.get("uid") or "",
            generation=int(meta.get("generation") or 0),
            labels=dict(meta.get("labels") or {}),
            annotations=dict(meta.get("annotations") or {}),
            template_annotations=dict((template.get("metadata") or {}).get("annotations") or {}),
            pod_spec=template.get("spec") or {},
            paused=bool(spec.get("paused", False)),
        )


@dataclass(frozen=True)
class Consumer:
    """A workload the EnvPayload rolls, and the keys of its Secret it takes."""

    workload: Workload
    consumption: Consumption


@dataclass(frozen=True)
class Selection:
    """The consumers of one Secret, in rollout order, and targets that do not exist."""

    consumers: tuple[Consumer, ...]
    missing: tuple[WorkloadRef, ...] = ()


def select_consumers(
    workloads: Sequence[Workload], secret_name: str, rollout: Rollout
) -> Selection:
    """The workloads to roll when ``secret_name`` changes, as ``rollout`` asks."""
    by_ref = {w.ref: w for w in workloads}
    chosen: dict[WorkloadRef, Consumer] = {}
    missing: list[WorkloadRef] = []

    for target in rollout.targets:
        workload = by_ref.get(target)
        if workload is None:
            missing.append(target)
            continue
        explicit = consumption_of(workload.pod_spec, secret_name) or ALL_KEYS
        chosen.setdefault(target, Consumer(workload, explicit))

    discovered = sorted(workloads, key=lambda w: (KINDS.index(w.kind), w.name))
    for workload in discovered:
        if workload.ref in chosen:
            continue
        consumption = consumption_of(workload.pod_spec, secret_name)
        if consumption is None:
            continue
        if rollout.selector is not None and not matches_selector(workload.labels, rollout.selector):
            continue
        chosen[workload.ref] = Consumer(workload, consumption)

    return Selection(consumers=tuple(chosen.values()), missing=tuple(missing))


def check_selector(selector: Mapping[str, Any] | None) -> None:
    """Raise :class:`SelectorError` unless ``selector`` is a valid label selector."""
    if selector is not None:
        matches_selector({}, selector)


def matches_selector(labels: Mapping[str, str], selector: Mapping[str, Any]) -> bool:
    """True when ``labels`` match a Kubernetes label selector (matchLabels, matchExpressions).

    Like the apiserver's, an empty selector matches everything.
    """
    unknown = set(selector) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise SelectorError(
            f"spec.rollout.selector has unknown fields: {', '.join(sorted(unknown))}"
        )
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise SelectorError("spec.rollout.selector.matchLabels must be a map of labels")
    ok = all(labels.get(k) == str(v) for k, v in match_labels.items())
    for index, expression in enumerate(selector.get("matchExpressions") or ()):
        ok = _matches_expression(labels, expression, index) and ok
    return ok


def _matches_expression(labels: Mapping[str, str], expression: Any, index: int) -> bool:
    where = f"spec.rollout.selector.matchExpressions[{index}]"
    if not isinstance(expression, Mapping) or not expression.get("key"):
        raise SelectorError(f"{where} needs a key and an operator")
    key, operator = str(expression["key"]), str(expression.get("operator"))
    values = [str(v) for v in expression.get("values") or ()]

    if operator in ("In", "NotIn"):
        if not values:
            raise SelectorError(f"{where}: operator {operator} needs values")
        inside = key in labels and labels[key] in values
        return inside == (operator == "In")
    if operator in ("Exists", "DoesNotExist"):
        if values:
            raise SelectorError(f"{where}: operator {operator} takes no values")
        return (key in labels) == (operator == "Exists")
    raise SelectorError(f"{where}: unknown operator {operator}")
