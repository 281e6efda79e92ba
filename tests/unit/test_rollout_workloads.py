"""Which workloads an EnvPayload rolls: discovery, selector, explicit targets, order."""

from __future__ import annotations

from typing import Any

import pytest

from envpayload.rollout.consumers import ALL_KEYS, Consumption
from envpayload.rollout.workloads import (
    SelectorError,
    Workload,
    check_selector,
    matches_selector,
    select_consumers,
)
from envpayload.spec import Rollout, WorkloadRef


def workload(
    kind: str, name: str, *, uses: str | None = None, key: str | None = None, **labels: str
) -> Workload:
    container: dict[str, Any] = {"name": "app"}
    if uses and key:
        container["env"] = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": uses, "key": key}}}
        ]
    elif uses:
        container["envFrom"] = [{"secretRef": {"name": uses}}]
    return Workload.from_api(
        kind,
        {
            "metadata": {"name": name, "uid": f"uid-{name}", "generation": 3, "labels": labels},
            "spec": {"template": {"spec": {"containers": [container]}}},
        },
    )


def names(selection: Any) -> list[str]:
    return [f"{c.workload.kind}/{c.workload.name}" for c in selection.consumers]


def test_a_workload_is_read_from_the_api_json() -> None:
    obj = {
        "metadata": {
            "name": "web",
            "uid": "u1",
            "generation": 7,
            "labels": {"app": "web"},
            "annotations": {"a": "1"},
        },
        "spec": {
            "paused": True,
            "template": {"metadata": {"annotations": {"t": "2"}}, "spec": {"containers": []}},
        },
    }

    w = Workload.from_api("Deployment", obj)

    assert (w.kind, w.name, w.uid, w.generation, w.paused) == ("Deployment", "web", "u1", 7, True)
    assert (w.labels, w.annotations, w.template_annotations) == (
        {"app": "web"},
        {"a": "1"},
        {"t": "2"},
    )


def test_only_workloads_that_read_the_secret_are_consumers() -> None:
    workloads = [
        workload("Deployment", "api", uses="app-env", key="DB"),
        workload("Deployment", "unrelated", uses="other-env"),
        workload("DaemonSet", "agent", uses="app-env"),
        workload("StatefulSet", "db", uses="app-env"),
    ]

    selection = select_consumers(workloads, "app-env", Rollout())

    # Deployments, then StatefulSets, then DaemonSets; by name within a kind.
    assert names(selection) == ["Deployment/api", "StatefulSet/db", "DaemonSet/agent"]
    assert selection.consumers[0].consumption == Consumption(keys=frozenset({"DB"}))


def test_a_selector_narrows_the_consumers_found() -> None:
    workloads = [
        workload("Deployment", "api", uses="app-env", tier="backend"),
        workload("Deployment", "web", uses="app-env", tier="frontend"),
    ]
    rollout = Rollout(selector={"matchLabels": {"tier": "backend"}})

    assert names(select_consumers(workloads, "app-env", rollout)) == ["Deployment/api"]


def test_explicit_targets_come_first_and_consume_every_key_unless_they_reference_it() -> None:
    workloads = [
        workload("Deployment", "api", uses="app-env", key="DB", tier="backend"),
        workload("Deployment", "reads-through-the-api"),
        workload("StatefulSet", "also-listed", uses="app-env", key="DB"),
    ]
    rollout = Rollout(
        targets=(
            WorkloadRef("StatefulSet", "also-listed"),
            WorkloadRef("Deployment", "reads-through-the-api"),
            WorkloadRef("Deployment", "gone"),
        ),
        # Targets are added whatever the selector says.
        selector={"matchLabels": {"tier": "none"}},
    )

    selection = select_consumers(workloads, "app-env", rollout)

    assert names(selection) == ["StatefulSet/also-listed", "Deployment/reads-through-the-api"]
    assert selection.consumers[0].consumption == Consumption(keys=frozenset({"DB"}))
    assert selection.consumers[1].consumption == ALL_KEYS
    assert selection.missing == (WorkloadRef("Deployment", "gone"),)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({}, True),
        ({"matchLabels": {"app": "web"}}, True),
        ({"matchLabels": {"app": "api"}}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["b"]}]}, False),
        ({"matchExpressions": [{"key": "absent", "operator": "NotIn", "values": ["b"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, False),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "absent", "operator": "Exists"}],
            },
            False,
        ),
    ],
)
def test_label_selectors_match_as_the_apiserver_does(
    selector: dict[str, Any], expected: bool
) -> None:
    assert matches_selector({"app": "web", "tier": "b"}, selector) is expected


@pytest.mark.parametrize(
    ("selector", "complaint"),
    [
        ({"matchLabel": {"a": "b"}}, "unknown fields: matchLabel"),
        (
            {"matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}]},
            "unknown operator Near",
        ),
        ({"matchExpressions": [{"key": "a", "operator": "In"}]}, "needs values"),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            "takes no values",
        ),
        ({"matchExpressions": [{"operator": "Exists"}]}, "needs a key"),
    ],
)
def test_a_selector_that_is_not_valid_is_refused_with_the_reason(
    selector: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(SelectorError, match=complaint):
        check_selector(selector)
