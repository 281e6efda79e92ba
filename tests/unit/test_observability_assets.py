"""The shipped dashboard and alerting rules parse, and name only metrics that exist."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import CollectorRegistry

from envpayload.report.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "observability/prometheus-rules.yaml"
DASHBOARD = REPO / "observability/grafana-dashboard.json"
# Series that Prometheus itself makes, not the operator.
PROMETHEUS_OWN = {"up"}
# Grafana variables that stand where PromQL needs a duration.
GRAFANA_DURATIONS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", ()):
            yield panel["title"], target["expr"]


def metric_names(expression: str) -> set[str]:
    for variable, duration in GRAFANA_DURATIONS.items():
        expression = expression.replace(variable, duration)
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expression), visit)
    return names


@pytest.fixture(scope="module")
def exported() -> set[str]:
    return Metrics(CollectorRegistry()).names() | PROMETHEUS_OWN


def test_every_rule_is_a_complete_alerting_rule() -> None:
    found = rules()

    assert found
    for rule in found:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
        assert rule["alert"].startswith("EnvPayload")
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_rule_names_are_unique() -> None:
    names = [rule["alert"] for rule in rules()]

    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_rule_names_only_exported_metrics(rule: dict[str, Any], exported: set[str]) -> None:
    names = metric_names(rule["expr"])

    assert names
    assert names <= exported, names - exported


@pytest.mark.parametrize(
    ("title", "expression"), list(dashboard_expressions()), ids=lambda v: str(v)[:40]
)
def test_every_dashboard_query_names_only_exported_metrics(
    title: str, expression: str, exported: set[str]
) -> None:
    names = metric_names(expression)

    assert names, title
    assert names <= exported, f"{title}: {names - exported}"


def test_the_dashboard_shows_every_operator_metric(exported: set[str]) -> None:
    shown = set().union(*(metric_names(e) for _, e in dashboard_expressions()))
    families = {n for n in exported if n.startswith("envpayload_")}

    def family(name: str) -> str:
        for suffix in ("_bucket", "_count", "_sum", "_total", "_created"):
            name = name.removesuffix(suffix)
        return name

    missing = {family(n) for n in families} - {family(n) for n in shown}
    assert missing <= {"envpayload_build_info"}, missing
