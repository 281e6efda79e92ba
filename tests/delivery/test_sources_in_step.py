"""Files that copy or describe another file stay in step with it.

The CRD lives once in manifests/crds/; the chart carries a byte-identical copy (a chart
may not read files outside itself). The chart's version, its image tag and the package
version move together. The values table and the settings schema are generated
(``make chart-docs``) and must be current.
"""

from __future__ import annotations

import tomllib

import yaml

import envpayload
from tests.binaries import CHART, REPO
from tools import chart_docs


def test_the_charts_crd_is_a_byte_identical_copy_of_the_one_in_manifests() -> None:
    source = REPO / "manifests" / "crds" / "envpayloads.envpayload.io.yaml"
    copy = CHART / "files" / "crds" / source.name

    assert copy.read_bytes() == source.read_bytes(), (
        f"copy {source.relative_to(REPO)} to {copy.relative_to(REPO)}"
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
