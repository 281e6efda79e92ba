"""The GitHub push webhook: signed pushes wake the right EnvPayloads, others are refused."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

import aiohttp
import pytest

from envpayload.controller.webhook import (
    PATH,
    GitHubWebhook,
    Push,
    SourceKey,
    read_push,
    serve,
    signature_matches,
    source_key,
)
from envpayload.controller.worker import Wakeups
from envpayload.report.metrics import Metrics

SECRET = "It's a Secret to Everybody"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_body(repository: str = "Acme/Shop", ref: str = "refs/heads/main") -> bytes:
    return json.dumps(
        {
            "ref": ref,
            "before": "0" * 40,
            "after": "1" * 40,
            "repository": {"full_name": repository, "default_branch": "main"},
        }
    ).encode()


def test_the_signature_documented_by_github_is_accepted() -> None:
    # The example from GitHub's "Validating webhook deliveries".
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    assert signature_matches(SECRET.encode(), b"Hello, World!", header)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=657107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=",
        "sha256=ünicode",
    ],
)
def test_any_other_signature_is_refused(header: str) -> None:
    assert not signature_matches(SECRET.encode(), b"Hello, World!", header)


def test_a_push_to_the_default_branch_also_concerns_sources_without_a_ref() -> None:
    push = read_push(push_body())

    assert push == Push("Acme/Shop", "refs/heads/main", "main")
    assert push.source_keys() == [("acme/shop", "main"), ("acme/shop", "")]


def test_a_push_to_another_branch_or_a_tag_concerns_only_that_ref() -> None:
    branch = read_push(push_body(ref="refs/heads/staging"))
    tag = read_push(push_body(ref="refs/tags/v1.2"))

    assert branch is not None
    assert branch.source_keys() == [("acme/shop", "staging")]
    assert tag is not None
    assert tag.source_keys() == [("acme/shop", "v1.2")]


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"ref": "refs/heads/main"}'])
def test_a_body_that_is_no_push_is_not_read_as_one(body: bytes) -> None:
    assert read_push(body) is None


@pytest.mark.parametrize(
    ("ref", "key"),
    [
        ("", ("acme/shop", "")),
        ("main", ("acme/shop", "main")),
        ("refs/heads/main", ("acme/shop", "main")),
    ],
)
def test_spec_refs_are_keyed_like_pushed_refs(ref: str, key: SourceKey) -> None:
    assert source_key("ACME/shop", ref) == key


METRICS = Metrics()


def counted(result: str) -> float:
    value = METRICS.registry.get_sample_value(
        "envpayload_github_webhook_requests_total", {"result": result}
    )
    return value or 0.0


class Index:
    """Stands in for Kopf's index: source key -> (namespace, name)."""

    def __init__(self, entries: dict[SourceKey, list[tuple[str, str]]]) -> None:
        self.entries = entries

    def __call__(self, key: SourceKey) -> Iterable[tuple[str, str]]:
        return self.entries.get(key, ())


async def deliver(
    entries: dict[SourceKey, list[tuple[str, str]]],
    registered: list[tuple[str, str]],
    body: bytes,
    headers: dict[str, str],
) -> tuple[int, Any, dict[tuple[str, str], set[str]]]:
    """POST one delivery to a served webhook; return the status, the answer, the wake-ups."""
    wakeups = Wakeups()
    loops = {key: wakeups.register(*key) for key in registered}
    hook = GitHubWebhook(SECRET, Index(entries), wakeups, metrics=METRICS)
    runner = await serve(hook, "127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://{host}:{port}{PATH}", data=body, headers=headers) as answer,
        ):
            return answer.status, await answer.json(), {k: w.take() for k, w in loops.items()}
    finally:
        await runner.cleanup()


def test_a_signed_push_wakes_the_envpayloads_reading_that_ref() -> None:
    body = push_body()
    entries = {
        ("acme/shop", ""): [("shop", "app")],
        ("acme/shop", "main"): [("shop", "worker"), ("shop", "app")],
        ("acme/shop", "staging"): [("shop", "staging")],
    }
    before = counted("accepted")
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(body)}

    status, answer, woken = asyncio.run(
        deliver(entries, [("shop", "app"), ("shop", "worker"), ("shop", "staging")], body, headers)
    )

    assert status == 202
    assert answer == {"refreshing": 2}
    assert woken[("shop", "app")] == {"GitHub push to Acme/Shop main"}
    assert woken[("shop", "worker")] == {"GitHub push to Acme/Shop main"}
    assert woken[("shop", "staging")] == set()
    assert counted("accepted") == before + 1


@pytest.mark.parametrize(
    ("signature", "result"),
    [(None, "unsigned"), (sign(push_body(), "wrong secret"), "bad_signature")],
)
def test_unsigned_or_wrongly_signed_deliveries_are_refused_and_counted(
    signature: str | None, result: str
) -> None:
    headers = {"X-GitHub-Event": "push"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    before = counted(result)

    status, _, woken = asyncio.run(
        deliver({("acme/shop", "main"): [("shop", "app")]}, [("shop", "app")], push_body(), headers)
    )

    assert status == 401
    assert woken[("shop", "app")] == set()
    assert counted(result) == before + 1


def test_a_signed_event_other_than_push_is_ignored() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(body)}
    before = counted("ignored")

    status, answer, _ = asyncio.run(deliver({}, [], body, headers))

    assert status == 200
    assert answer == {"ignored": "ping"}
    assert counted("ignored") == before + 1
