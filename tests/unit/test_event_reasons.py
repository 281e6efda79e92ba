"""Event reasons are one fixed, documented list, and every error's reason is on it."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import envpayload
from envpayload.errors import EnvPayloadError
from envpayload.report import events

REPO = Path(__file__).resolve().parents[2]


def every_error_class() -> set[type[EnvPayloadError]]:
    # Errors are defined beside the code that raises them too: import every module.
    for module in pkgutil.walk_packages(envpayload.__path__, "envpayload."):
        if ".devtools." not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: set[type[EnvPayloadError]] = set()
    todo: list[type[EnvPayloadError]] = [EnvPayloadError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_reason_is_a_known_failure_reason() -> None:
    reasons = {cls.reason for cls in every_error_class()}

    assert reasons <= events.FAILURE_REASONS, reasons - events.FAILURE_REASONS


def test_reasons_are_camel_case_words() -> None:
    for reason in events.NORMAL_REASONS | events.WARNING_REASONS:
        assert re.fullmatch(r"[A-Z][a-zA-Z]+", reason), reason


def test_no_reason_is_both_normal_and_warning() -> None:
    assert not events.NORMAL_REASONS & events.WARNING_REASONS


def test_every_reason_is_documented() -> None:
    doc = (REPO / "docs/observability.md").read_text()

    missing = {r for r in events.NORMAL_REASONS | events.WARNING_REASONS if f"`{r}`" not in doc}
    assert not missing, f"docs/observability.md does not list {sorted(missing)}"
