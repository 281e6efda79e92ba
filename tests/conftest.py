"""Shared test settings: every test gets a deadline, and warnings are errors (pyproject)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/cluster/ as needing the control plane."""
    for item in items:
        if "/tests/cluster/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.cluster)
