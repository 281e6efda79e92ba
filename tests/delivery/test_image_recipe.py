"""The Dockerfile and its build context agree (no image can be built where tests run).

hadolint (``make lint``) checks the Dockerfile's own practice; these tests check what it
cannot: that the allow-list in .dockerignore lets in every file the build copies and the
package build reads, and that the runtime stage runs as a numeric non-root user.
"""

from __future__ import annotations

import re
import tomllib

from tests.binaries import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()


def _allowed() -> set[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return {line[1:].rstrip("/") for line in lines if line.startswith("!")}


def _final_stage() -> str:
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def test_the_build_context_holds_every_file_the_dockerfile_copies() -> None:
    sources = [
        source.rstrip("/")
        for line in DOCKERFILE.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]

    assert sources, "the Dockerfile copies nothing from the context"
    assert set(sources) <= _allowed()


def test_the_build_context_holds_what_the_package_build_reads() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"]}
    needed |= set(project["tool"]["setuptools"]["packages"]["find"]["where"])

    assert needed <= _allowed()


def test_the_runtime_stage_runs_as_a_numeric_non_root_user_without_pip() -> None:
    final = _final_stage()
    users = re.findall(r"^USER (\S+)$", final, flags=re.MULTILINE)

    assert len(users) == 1
    user, _, group = users[0].partition(":")
    assert re.fullmatch(r"[1-9][0-9]*", user), "a numeric user other than root"
    assert re.fullmatch(r"[1-9][0-9]*", group), "a numeric group other than root"
    assert "pip uninstall" in final
    assert 'ENTRYPOINT ["envpayload"]' in final
