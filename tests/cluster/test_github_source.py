"""An EnvPayload reading a file from GitHub, on the real control plane.

The operator runs as a process against the local plane and reaches a local GitHub
(tests/github_fake.py) through ``baseUrl``, with its real HTTP stack.
Most tests read plain text (allowPlaintext: true) to keep to the GitHub side; one
commits an envelope written by `envpayload seal`, as docs/github.md tells users to.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from localplane.operator import RunningOperator
from localplane.plane import ControlPlane, free_port
from tests.cluster.envpayloads import (
    apply_envpayload,
    events_for,
    get_envpayload,
    ready_condition,
    secret_values,
    settle,
    wait_for_ready,
)
from tests.cluster.sealing import envpayload_cli, published
from tests.github_fake import FakeGitHub, blob_sha
from tests.support import wait_for

REPO = "acme/shop"
PATH = "deploy/.env.production"
TOKEN = "ghp_ClusterCanaryToken111111111111111111"
WEBHOOK_SECRET = "webhook-canary-secret-2b7f"


WEBHOOK_PORT = free_port()


@pytest.fixture
def operator_env() -> dict[str, str]:
    return {
        "ENVPAYLOAD_GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ENVPAYLOAD_WEBHOOK_ADDRESS": "127.0.0.1",
        "ENVPAYLOAD_WEBHOOK_PORT": str(WEBHOOK_PORT),
        "ENVPAYLOAD_GITHUB_MAX_WAIT_SECONDS": "2",
        "ENVPAYLOAD_RETRY_MAX_SECONDS": "4",
    }


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        fake.add_token(TOKEN)
        yield fake


def credentials(core: client.CoreV1Api, namespace: str, data: dict[str, str]) -> None:
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name="github-credentials"), string_data=data
    )
    core.create_namespaced_secret(namespace, secret)


def github_spec(
    github: FakeGitHub, *, interval: str = "10s", plaintext: bool = True
) -> dict[str, Any]:
    return {
        "source": {
            "github": {
                "repository": REPO,
                "path": PATH,
                "baseUrl": github.url,
                "credentialsSecretRef": {"name": "github-credentials"},
                "allowPlaintext": plaintext,
            }
        },
        "refreshInterval": interval,
    }


def start(
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
    content: str,
    **spec: Any,
) -> str:
    """Commit ``content``, give the EnvPayload ``shop`` a token and create it; the commit."""
    commit = github.commit(REPO, PATH, content)
    credentials(core, namespace, {"token": TOKEN})
    apply_envpayload(custom, namespace, "shop", github_spec(github, **spec))
    return commit


def push(body: dict[str, Any], signature: str | None) -> int:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    conn = http.client.HTTPConnection("127.0.0.1", WEBHOOK_PORT, timeout=5)
    try:
        conn.request("POST", "/webhooks/github", raw, headers)
        return conn.getresponse().status
    finally:
        conn.close()


def sign(body: dict[str, Any]) -> str:
    raw = json.dumps(body).encode()
    return "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()


def test_a_github_file_becomes_a_secret_and_follows_a_new_commit(
    operator: RunningOperator,
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    first = start(
        github, core, custom, namespace, 'DATABASE_URL=mysql://db/shop\nGREETING="hello\nworld"\n'
    )

    obj = wait_for_ready(custom, namespace, "shop")
    assert secret_values(core, namespace, "shop") == {
        "DATABASE_URL": "mysql://db/shop",
        "GREETING": "hello\nworld",
    }
    assert obj["status"]["sourceVersion"] == f"commit:{first}"
    assert obj["status"]["sourceKind"] == "github"

    # Polls of the unchanged file are conditional and answered 304, nothing else.
    before = len(github.requests)
    settle(12)
    polls = github.requests[before:]
    assert 1 <= len(polls) <= 2
    assert all(r.status == 304 and "/contents/" in r.path for r in polls)

    second = github.commit(REPO, PATH, "DATABASE_URL=mysql://db/shop-v2\n")
    wait_for(
        lambda: secret_values(core, namespace, "shop") == {"DATABASE_URL": "mysql://db/shop-v2"},
        timeout=20,
        what="the new commit's payload",
    )
    obj = wait_for(
        lambda: (
            (o := get_envpayload(custom, namespace, "shop"))["status"]["sourceVersion"].endswith(
                second
            )
            and o
        ),
        what="the new source version",
    )
    assert obj["status"]["keys"] == ["DATABASE_URL"]


def test_the_last_good_secret_stays_through_an_outage(
    operator: RunningOperator,
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start(github, core, custom, namespace, "API_KEY=good\n")
    wait_for_ready(custom, namespace, "shop")

    github.fail(503, "Service Unavailable")
    github.commit(REPO, PATH, "API_KEY=never-seen\n")
    obj = wait_for_ready(
        custom, namespace, "shop", status="False", reason="SourceUnavailable", timeout=25
    )
    assert "HTTP 503" in ready_condition(obj)["message"]

    github.recover()
    github.fail(401, "Bad credentials")
    obj = wait_for_ready(
        custom, namespace, "shop", status="False", reason="SourceForbidden", timeout=20
    )
    assert "HTTP 401 Bad credentials" in ready_condition(obj)["message"]

    github.recover()
    github.fail(404, "Not Found")
    wait_for_ready(custom, namespace, "shop", status="False", reason="SourceNotFound", timeout=20)
    assert secret_values(core, namespace, "shop") == {"API_KEY": "good"}

    github.recover()
    wait_for_ready(custom, namespace, "shop", timeout=20)
    assert secret_values(core, namespace, "shop") == {"API_KEY": "never-seen"}


def test_a_fixed_token_is_used_at_once(
    operator: RunningOperator,
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    github.commit(REPO, PATH, "API_KEY=from-git\n")
    credentials(core, namespace, {"token": TOKEN + "-revoked"})
    apply_envpayload(custom, namespace, "shop", github_spec(github, interval="1h"))
    wait_for_ready(custom, namespace, "shop", status="False", reason="SourceForbidden")

    # The operator keeps the credentials it read until the watch says the Secret changed.
    core.patch_namespaced_secret("github-credentials", namespace, {"stringData": {"token": TOKEN}})

    wait_for_ready(custom, namespace, "shop", timeout=10)
    assert secret_values(core, namespace, "shop") == {"API_KEY": "from-git"}


def test_a_rate_limited_source_is_not_asked_again_before_retry_after(
    operator: RunningOperator,
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    github.fail(
        429, "You have exceeded a secondary rate limit.", times=1, headers={"Retry-After": "15"}
    )

    start(github, core, custom, namespace, "API_KEY=good\n")

    wait_for_ready(custom, namespace, "shop", status="False", reason="SourceRateLimited")
    asked = len(github.requests)
    settle(8)
    assert len(github.requests) == asked
    wait_for_ready(custom, namespace, "shop", timeout=20)
    assert secret_values(core, namespace, "shop") == {"API_KEY": "good"}


def test_a_signed_push_refreshes_at_once_and_an_unsigned_one_is_refused(
    operator: RunningOperator,
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start(github, core, custom, namespace, "API_KEY=one\n", interval="1h")
    wait_for_ready(custom, namespace, "shop")
    # The first sync's own writes wake the loop once more; let that pass before pushing.
    settle(3)
    github.commit(REPO, PATH, "API_KEY=two\n")
    body = {
        "ref": "refs/heads/main",
        "repository": {"full_name": "Acme/Shop", "default_branch": "main"},
    }

    assert push(body, signature=None) == 401
    assert push(body, signature="sha256=" + "0" * 64) == 401
    settle(3)
    assert secret_values(core, namespace, "shop") == {"API_KEY": "one"}

    assert push(body, signature=sign(body)) == 202
    wait_for(
        lambda: secret_values(core, namespace, "shop") == {"API_KEY": "two"},
        timeout=5,
        what="the pushed payload",
    )


def test_plain_text_from_github_is_refused_unless_allowed(
    operator: RunningOperator,
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    start(github, core, custom, namespace, "API_KEY=plain\n", plaintext=False)

    obj = wait_for_ready(custom, namespace, "shop", status="False", reason="EnvelopeRejected")
    assert "is not a sealed envelope" in ready_condition(obj)["message"]
    assert secret_values(core, namespace, "shop") is None


def test_an_envelope_sealed_with_the_cli_and_committed_is_opened(
    operator: RunningOperator,
    plane: ControlPlane,
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    sealed = envpayload_cli(
        plane, namespace, "seal", "-n", namespace, "--name", "shop", stdin="API_KEY=from-git\n"
    )
    assert sealed.returncode == 0, sealed.stderr

    start(github, core, custom, namespace, sealed.stdout, plaintext=False)

    obj = wait_for_ready(custom, namespace, "shop")
    assert secret_values(core, namespace, "shop") == {"API_KEY": "from-git"}
    assert obj["status"]["sealingKeyId"] == published(core, namespace)[0].id
    assert obj["status"]["sealedSerial"] > 0
    # A sealed file's blob SHA hashes ciphertext, so status may name it.
    assert obj["status"]["sourceVersion"].startswith(f"blob:{blob_sha(sealed.stdout.encode())} ")


def test_tokens_and_private_keys_never_appear_in_logs_or_status(
    operator: RunningOperator,
    github: FakeGitHub,
    core: client.CoreV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
) -> None:
    canary_value = "CANARY-PAYLOAD-VALUE-9c1d"
    github.commit(REPO, PATH, f"API_KEY={canary_value}\n")
    github.add_installation(31)
    key = github.app_private_key_pem()
    credentials(
        core, namespace, {"appId": github.app_id, "installationId": "31", "privateKey": key}
    )
    bad = client.V1Secret(
        metadata=client.V1ObjectMeta(name="bad-token"), string_data={"token": TOKEN + "x"}
    )
    core.create_namespaced_secret(namespace, bad)
    broken = github_spec(github)
    broken["source"]["github"]["credentialsSecretRef"] = {"name": "bad-token"}

    apply_envpayload(custom, namespace, "app", github_spec(github))
    apply_envpayload(custom, namespace, "broken", broken)

    wait_for_ready(custom, namespace, "app")
    wait_for_ready(custom, namespace, "broken", status="False", reason="SourceForbidden")
    assert github.installation_tokens
    secrets = [TOKEN, canary_value, WEBHOOK_SECRET, *github.installation_tokens]
    # The plain file's blob SHA would let a reader of the status test guesses of it.
    secrets.append(blob_sha(f"API_KEY={canary_value}\n".encode()))
    secrets += [line for line in key.splitlines() if "PRIVATE KEY" not in line]
    reported = json.dumps(
        [get_envpayload(custom, namespace, name) for name in ("app", "broken")]
        + [e.message for name in ("app", "broken") for e in events_for(core, namespace, name)]
    )
    logs = operator.logs()
    assert "Read GitHub acme/shop" in logs
    for secret in secrets:
        assert secret not in logs
        assert secret not in reported
