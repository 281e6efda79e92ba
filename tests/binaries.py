"""The Go-built programs the delivery tests drive: helm and kubectl, from the binary cache.

``localplane/build.sh`` builds them from their Go modules into a cache outside the
repository. A test that needs one gets its path from :func:`program`; when it is not
built, the test is skipped with the command that builds it, or fails with CI=true.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

from localplane.plane import binary_dir
from tests.support import IN_CI

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "charts" / "envpayload-operator"
# The release and namespace that `helm template` uses when a test does not say.
RELEASE = "envpayload-operator"
OPERATOR_NAMESPACE = "envpayload-system"

_COMPONENT = {"helm": "helm", "kubectl": "kubernetes", "actionlint": "actionlint"}


def program(name: str) -> Path:
    """The path of a Go-built program; skips (or fails in CI) when it is not built yet."""
    component = _COMPONENT[name]
    try:
        folder = binary_dir(component)
    except (OSError, subprocess.CalledProcessError) as e:
        _missing(f"cannot locate {name}: {e}")
    if not (folder / ".complete").is_file():
        _missing(f"{name} is not built; run: localplane/build.sh {component}")
    return folder / name


def _missing(message: str) -> NoReturn:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def run(
    argv: Sequence[str | Path],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a program; on failure (with ``check``) the test fails showing its output."""
    result = subprocess.run(
        [str(a) for a in argv],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=240,
        check=False,
    )
    if check and result.returncode != 0:
        command = " ".join(str(a) for a in argv)
        pytest.fail(f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def helm_env(home: Path, kubeconfig: Path | None = None) -> dict[str, str]:
    """Helm's folders inside ``home`` (never the user's), and the cluster to talk to."""
    env = {f"HELM_{kind}_HOME": str(home / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")}
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def render_chart(
    *settings: str,
    release: str = RELEASE,
    namespace: str = OPERATOR_NAMESPACE,
    home: Path,
) -> list[dict[str, Any]]:
    """``helm template`` with ``--set`` ``settings``: the objects, parsed."""
    argv: list[str | Path] = [program("helm"), "template", release, CHART, "-n", namespace]
    for setting in settings:
        argv += ["--set", setting]
    return parse_objects(run(argv, env=helm_env(home)).stdout)


def parse_objects(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(objects: Sequence[Mapping[str, Any]], kind: str, name: str | None = None) -> list[Any]:
    """The objects of ``kind`` (and ``name``)."""
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
