"""The kustomize base in manifests/ is the Helm chart with its default values.

Both are written by hand (each reads best in its own form), so this test renders both
and compares them object by object, leaving out only what is Helm's own: its labels, its
keep annotation, and the Namespace that `helm install --create-namespace` makes instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.binaries import REPO, parse_objects, program, render_chart, run

HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
HELM_ANNOTATIONS = ("helm.sh/resource-policy",)


def _by_identity(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): _without_helm(o)
        for o in objects
    }


def _without_helm(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    for field, keys in (("labels", HELM_LABELS), ("annotations", HELM_ANNOTATIONS)):
        for key in keys:
            meta.get(field, {}).pop(key, None)
        if field in meta and not meta[field]:
            del meta[field]
    return obj


def test_the_kustomize_base_equals_the_chart_with_default_values(tmp_path: Path) -> None:
    chart = _by_identity(render_chart(home=tmp_path))
    base = _by_identity(
        parse_objects(run([program("kubectl"), "kustomize", REPO / "manifests"]).stdout)
    )

    namespace = base.pop(("Namespace", "", "envpayload-system"))
    assert sorted(base) == sorted(chart)
    for identity, obj in chart.items():
        assert base[identity] == obj, f"{identity} differs between the chart and manifests/"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
