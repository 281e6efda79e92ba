"""tools/chart_docs.py: reading values.yaml comments, and refusing an undocumented value."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tools.chart_docs import (
    ChartDocsError,
    Value,
    commented_keys,
    documented_values,
    values_table,
)

VALUES = """\
# A header that documents nothing: a blank line follows it.

# The image.
image:
  # Where it comes from.
  repository: example/op
  # Its tag;
  # empty means appVersion.
  tag: ""

# Free-form resources.
resources:
  requests:
    cpu: 50m
# Settings by name.
settings: {}
"""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "image": {
            "type": "object",
            "properties": {"repository": {"type": "string"}, "tag": {"type": "string"}},
        },
        "resources": {"type": "object"},
        "settings": {"type": "object", "properties": {"LOG": {"type": "string"}}},
    },
}


def test_each_key_gets_the_comment_block_right_above_it() -> None:
    keys = dict(commented_keys(VALUES))

    assert keys["image"] == "The image."
    assert keys["image.repository"] == "Where it comes from."
    assert keys["image.tag"] == "Its tag; empty means appVersion."
    assert keys["resources.requests.cpu"] == ""
    assert keys["settings"] == "Settings by name."


def test_leaves_and_free_form_values_become_rows_and_groups_do_not() -> None:
    rows = documented_values(VALUES, SCHEMA, yaml.safe_load(VALUES))

    assert [r.path for r in rows] == ["image.repository", "image.tag", "resources", "settings"]
    assert rows[2].default == {"requests": {"cpu": "50m"}}


def test_a_value_without_a_comment_is_refused() -> None:
    text = VALUES.replace("  # Where it comes from.\n", "")

    with pytest.raises(ChartDocsError, match=r"image\.repository has no comment"):
        documented_values(text, SCHEMA, yaml.safe_load(text))


def test_a_value_the_schema_lacks_is_refused() -> None:
    text = VALUES + "# Misspelt.\nreplicas: 2\n"

    with pytest.raises(ChartDocsError, match="replicas"):
        documented_values(text, SCHEMA, yaml.safe_load(text))


def test_odd_indentation_is_refused_with_its_line_number() -> None:
    with pytest.raises(ChartDocsError, match="line 2"):
        list(commented_keys("image:\n   tag: x\n"))


def test_the_table_escapes_pipes_and_shows_defaults_as_json() -> None:
    table = values_table([Value("a", "string", "", "one | two")]).splitlines()

    assert table[2] == '| `a` | string | `""` | one \\| two |'
