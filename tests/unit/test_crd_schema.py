"""The CRD's schema documents every field, so `kubectl explain` always has an answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

CRD = Path(__file__).resolve().parents[2] / "manifests/crds/envpayloads.envpayload.io.yaml"


def fields(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, sub in (schema.get("properties") or {}).items():
        yield f"{path}.{name}", sub
        yield from fields(sub, f"{path}.{name}")
    if "items" in schema:
        yield from fields(schema["items"], f"{path}[]")


def test_every_field_below_spec_and_status_has_a_description() -> None:
    schema = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    undocumented = [
        path
        for path, sub in fields(schema, "")
        if path.startswith((".spec", ".status")) and not sub.get("description")
    ]
    assert undocumented == []


def test_the_contract_names_are_kept() -> None:
    crd = yaml.safe_load(CRD.read_text())
    assert crd["spec"]["group"] == "envpayload.io"
    assert crd["spec"]["names"]["plural"] == "envpayloads"
    assert crd["spec"]["names"]["shortNames"] == ["envp"]
    assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
    source = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]["source"]
    assert set(source["properties"]) == {"secretRef", "inline", "github"}
