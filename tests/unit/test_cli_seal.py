"""``envpayload seal`` offline (--cert): what it writes, what it refuses, what it never prints."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
import yaml

from envpayload.cli import main
from envpayload.sealing.envelope import decrypt, parse_envelope, read_header
from envpayload.sealing.keys import SealingKey

CANARY = "canary-Zx81-cli-value"
PAYLOAD = f"DATABASE_URL=mysql://app@db/app\nDATABASE_PASSWORD={CANARY}\n"


@pytest.fixture
def key() -> SealingKey:
    return SealingKey.generate(datetime.datetime.now(datetime.UTC))


@pytest.fixture
def cert(tmp_path: Path, key: SealingKey) -> Path:
    path = tmp_path / "sealing.pem"
    path.write_text(key.public.to_pem())
    return path


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env.production"
    path.write_text(PAYLOAD)
    return path


def run(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as e:
        return int(e.code or 0)


def seal_for_cluster(payload: Path, cert: Path) -> int:
    """``envpayload seal`` of a cluster-wide bare envelope."""
    return run(
        "seal",
        "--scope",
        "cluster",
        "--format",
        "envelope",
        "-f",
        str(payload),
        "--cert",
        str(cert),
    )


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: str) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data.encode())))


def test_seal_writes_an_envpayload_manifest_that_opens_for_its_namespace_and_name(
    key: SealingKey, cert: Path, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        "seal",
        "-n",
        "prod",
        "--name",
        "app",
        "-f",
        str(env_file),
        "--cert",
        str(cert),
        "--format",
        "manifest",
    )

    out, err = capsys.readouterr()
    assert code == 0
    manifest = yaml.safe_load(out)
    assert manifest["kind"] == "EnvPayload"
    assert manifest["metadata"] == {"name": "app", "namespace": "prod"}
    sealed = manifest["spec"]["source"]["inline"]["sealed"].encode()
    assert decrypt(parse_envelope(sealed), key.private, "prod", "app") == PAYLOAD.encode()
    assert f"Sealed 2 keys for EnvPayload prod/app with key {key.id}" in err
    assert CANARY not in out + err


def test_seal_reads_standard_input_and_writes_the_bare_envelope_by_default(
    key: SealingKey,
    cert: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feed_stdin(monkeypatch, PAYLOAD)

    code = run("seal", "-n", "prod", "--scope", "namespace", "--cert", str(cert))

    out, _ = capsys.readouterr()
    assert code == 0
    assert out.count("\n") == 1
    header = read_header(out.encode())
    assert (header.scope, header.key_id) == ("namespace", key.id)
    assert decrypt(parse_envelope(out.encode()), key.private, "prod", "any") == PAYLOAD.encode()


def test_the_serial_defaults_to_the_time_so_a_later_seal_is_newer(
    cert: Path, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serials = []
    for _ in range(2):
        seal_for_cluster(env_file, cert)
        serials.append(read_header(capsys.readouterr().out.encode()).serial)

    assert serials[0] <= serials[1]
    assert serials[0] > 1_700_000_000_000  # milliseconds since 1970


def test_an_explicit_serial_is_used(
    cert: Path, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        "seal",
        "-n",
        "p",
        "--name",
        "a",
        "--format",
        "envelope",
        "--serial",
        "42",
        "-f",
        str(env_file),
        "--cert",
        str(cert),
    )

    assert read_header(capsys.readouterr().out.encode()).serial == 42


def test_an_invalid_payload_is_not_sealed_and_no_value_is_printed(
    cert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.env"
    broken.write_text(f"GOOD=1\n{CANARY} no equals sign\nGOOD=2\n")

    code = run("seal", "-n", "prod", "--name", "app", "-f", str(broken), "--cert", str(cert))

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "line 2" in err
    assert "key GOOD is defined again" in err
    assert CANARY not in err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--name", "app"], "scope strict needs --namespace"),
        (["-n", "prod"], "scope strict needs --name"),
        (["--scope", "namespace"], "scope namespace needs --namespace"),
        (["--scope", "cluster", "--format", "manifest"], "a manifest needs --namespace and"),
        (["--scope", "cluster", "--format", "envelope", "--serial", "-1"], "--serial must be"),
    ],
)
def test_missing_or_wrong_arguments_are_usage_errors(
    cert: Path, env_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    code = run("seal", *argv, "-f", str(env_file), "--cert", str(cert))

    assert code == 2
    assert complaint in capsys.readouterr().err


def test_an_already_sealed_file_is_not_sealed_again(
    cert: Path, env_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seal_for_cluster(env_file, cert)
    sealed = tmp_path / "sealed"
    sealed.write_text(capsys.readouterr().out)

    code = seal_for_cluster(sealed, cert)

    assert code == 1
    assert "already a sealed envelope" in capsys.readouterr().err


def test_a_cert_that_is_not_a_sealing_key_is_refused(
    env_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")

    code = run("seal", "-n", "prod", "--name", "app", "-f", str(env_file), "--cert", str(bogus))

    assert code == 1
    assert "not a PEM public key" in capsys.readouterr().err
