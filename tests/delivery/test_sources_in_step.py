"""Files that copy or describe another file stay in step with it.

The CRD lives once in manifests/crds/, the alerting rules in observability/; the chart
carries byte-identical copies (a chart may not read files outside itself). The chart's
version, its image tag and the package version move together. The values table and the
settings schema are generated (``make chart-docs``) and must be current.
"""

from __future__ import annotations

import tomllib

import pytest
import yaml

import envpayload
from tests.binaries import CHART, REPO
from tools import chart_docs


@pytest.mark.parametrize(
    ("source", "copy"),
    [
        (
            "manifests/crds/envpayloads.envpayload.io.yaml",
            "files/crds/envpayloads.envpayload.io.yaml",
        ),
        ("observability/prometheus-rules.yaml", "files/prometheus-rules.yaml"),
    ],
)
def test_the_chart_carries_byte_identical_copies_of_the_crd_and_the_alerting_rules(
    source: str, copy: str
) -> None:
    assert (CHART / copy).read_bytes() == (REPO / source).read_bytes(), (
        f"copy {source} to {(CHART / copy).relative_to(REPO)}"
    )


def test_the_chart_the_image_and_the_package_share_one_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    assert chart["appVersion"] == chart["version"] == project["version"] == envpayload.__version__


def test_the_generated_values_table_and_settings_schema_are_current() -> None:
    stale = [
        str(path.relative_to(REPO))
        for path, text in chart_docs.expected_files().items()
        if path.read_text() != text
    ]

    assert stale == [], "run `make chart-docs`"
