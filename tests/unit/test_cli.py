"""The cluster-free commands: exit codes a CI step can use, and no values in output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from envpayload.cli import main

MANIFEST = """\
apiVersion: envpayload.io/v1alpha1
kind: EnvPayload
metadata: {name: app, namespace: shop}
spec:
  source: {secretRef: {name: app-env}}
  target: {fileKey: .env}
  validation: {required: [DB_PASSWORD]}
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "good.env").write_text("DB_PASSWORD=canary-9d2f\nAPI_URL=https://api\n")
    (tmp_path / "bad.env").write_text("DB_PASSWORD=x\nnot a statement\n")
    (tmp_path / "envpayload.yaml").write_text(MANIFEST)
    return tmp_path


def test_validate_accepts_a_good_file_and_lists_keys_only(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(files / "good.env"), "--require", "DB_PASSWORD"]) == 0
    out = capsys.readouterr()
    assert "2 keys" in out.out
    assert "DB_PASSWORD, API_URL" in out.out
    assert "canary" not in out.out + out.err


def test_validate_fails_with_the_line_number(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(files / "bad.env")]) == 1
    assert "line 2: the statement does not parse" in capsys.readouterr().err


def test_validate_fails_on_a_missing_required_key(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(files / "good.env"), "--require", "REGISTRY_TOKEN"]) == 1
    assert "required keys are missing: REGISTRY_TOKEN" in capsys.readouterr().err


def test_validate_without_a_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate"])
    assert exited.value.code == 2


def test_render_redacts_values_by_default(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["render", "-f", str(files / "envpayload.yaml"), "--payload", str(files / "good.env")]
    )
    out = capsys.readouterr().out
    assert code == 0
    secret = yaml.safe_load(out)
    assert secret["metadata"]["namespace"] == "shop"
    assert secret["data"] == {
        "DB_PASSWORD": "<redacted>",
        "API_URL": "<redacted>",
        ".env": "<redacted>",
    }
    assert "canary" not in out


def test_render_shows_values_only_when_asked(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "render",
        "-f",
        str(files / "envpayload.yaml"),
        "--payload",
        str(files / "good.env"),
        "--show-values",
    ]
    assert main(args) == 0
    secret = yaml.safe_load(capsys.readouterr().out)
    assert secret["data"]["DB_PASSWORD"] == "Y2FuYXJ5LTlkMmY="


def test_render_applies_the_manifests_validation(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (files / "short.env").write_text("API_URL=x\n")
    with pytest.raises(SystemExit) as exited:
        main(
            ["render", "-f", str(files / "envpayload.yaml"), "--payload", str(files / "short.env")]
        )
    assert exited.value.code == 1
    assert "required keys are missing: DB_PASSWORD" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_sealed_envelope_is_refused_as_not_a_plain_payload(
    command: str, files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both commands check what will be sealed; an envelope has no keys to check yet.
    sealed = files / "sealed.env"
    sealed.write_text("esv1.eyJraWQiOiJ4In0.AAAA\n")
    args = {
        "validate": ["validate", str(sealed)],
        "render": ["render", "-f", str(files / "envpayload.yaml"), "--payload", str(sealed)],
    }[command]

    code: int | str | None
    try:
        code = main(args)
    except SystemExit as exited:  # render fails through SystemExit, validate returns
        code = exited.code

    assert code == 1
    assert f"{sealed}: it is a sealed envelope; {command} the plain payload" in (
        capsys.readouterr().err
    )


def test_the_ci_commands_start_without_loading_the_operator(files: Path) -> None:
    # validate and render run in CI on every push: they must not pay for Kopf and the
    # Kubernetes client (about two seconds of imports).
    good, manifest = str(files / "good.env"), str(files / "envpayload.yaml")
    script = (
        "import sys\n"
        "from envpayload.cli import main\n"
        f"main(['validate', {good!r}])\n"
        f"main(['render', '-f', {manifest!r}, '--payload', {good!r}])\n"
        "heavy = sorted(m for m in ('kopf', 'kubernetes', 'github') if m in sys.modules)\n"
        "print('loaded:', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "loaded: []" in result.stdout


@pytest.mark.parametrize("command", ["run", "validate", "render", "seal", "keys", "github"])
def test_help_reads_as_plain_text(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])

    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert f"envpayload {command}" in shown
    assert "``" not in shown  # the docstrings' reST markup stays in the source
