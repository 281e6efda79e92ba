"""What polling a GitHub file costs: requests, time and memory, against a local GitHub.

Prints, for the ``github`` fetcher with one client (one credentials Secret):

- requests and time per poll of an unchanged file (one conditional request, 304), and of
  a changed one (the file and the commit lookup);
- how many polls one client makes per second from the operator's 8 sync threads (PyGithub
  spaces requests of one client 0.25 s apart, as GitHub asks for serial requests);
- the memory envpayload's own code keeps per remembered file of 4 KiB (the cache).

Run with ``python -m benchmarks github_fetch``; ``BENCH_POLLS`` changes the poll count.
"""

from __future__ import annotations

import os
import statistics
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

from envpayload.fetch.github import CredentialsSecret, GitHubFetcher
from envpayload.github_api.client import GitHubClient
from envpayload.github_api.credentials import Credentials
from envpayload.spec import GitHubSource
from tests.github_fake import FakeGitHub

TOKEN = "ghp_benchmark"  # noqa: S105 - a token only the local GitHub knows
REPO = "acme/bench"
THREADS = 8  # the operator's default ENVPAYLOAD_SYNC_WORKERS


def new_client(base_url: str, credentials: Credentials | None, label: str) -> GitHubClient:
    return GitHubClient(base_url, credentials, label=label)


def fetcher() -> GitHubFetcher:
    return GitHubFetcher(lambda ns, name: CredentialsSecret({"token": TOKEN}, "1"), new_client)


def source(github: FakeGitHub, path: str) -> GitHubSource:
    return GitHubSource(REPO, path, "", github.url, "creds", allow_plaintext=True)


def timed(calls: int, action: object) -> list[float]:
    assert callable(action)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms"


def main() -> None:
    polls = int(os.environ.get("BENCH_POLLS", "40"))
    with FakeGitHub() as github:
        github.add_repo(REPO)
        github.add_token(TOKEN)
        github.commit(REPO, "app.env", "".join(f"KEY_{n}=value-{n}\n" for n in range(30)))
        fetch = fetcher()
        fetch.fetch("bench", source(github, "app.env"))

        before = len(github.requests)
        unchanged = timed(polls, lambda: fetch.fetch("bench", source(github, "app.env")))
        requests = (len(github.requests) - before) / polls
        not_modified = github.count(path_contains="/contents/", status=304)
        print(f"unchanged file: {requests:.2f} requests per poll ({not_modified} answered 304)")
        print(f"  {summary(unchanged)} per poll")

        def change() -> None:
            github.commit(REPO, "app.env", f"KEY=v{time.perf_counter_ns()}\n")
            fetch.fetch("bench", source(github, "app.env"))

        before = len(github.requests)
        changed = timed(polls // 2, change)
        requests = (len(github.requests) - before) / (polls // 2)
        print(f"changed file: {requests:.2f} requests per poll; {summary(changed)} per poll")

        # Many EnvPayloads sharing one credentials Secret, polled from the sync threads.
        paths = [f"apps/{n}.env" for n in range(polls)]
        for path in paths:
            github.commit(REPO, path, "KEY=value\n")
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda p: fetch.fetch("bench", source(github, p)), paths))
            started = time.perf_counter()
            list(pool.map(lambda p: fetch.fetch("bench", source(github, p)), paths))
            seconds = time.perf_counter() - started
        print(
            f"{polls} files, one client, {THREADS} threads: {polls / seconds:.1f} polls/s "
            f"(about {polls / seconds * 3600:.0f} per hour)"
        )

        # Memory of the cache: files of 4 KiB, each remembered once.
        count = 200
        text = "K=" + "x" * 4094 + "\n"
        for n in range(count):
            github.commit(REPO, f"mem/{n}.env", text)
        cold = fetcher()
        cold.fetch("bench", source(github, "mem/0.env"))
        tracemalloc.start()
        start = tracemalloc.take_snapshot()
        for n in range(1, count):
            cold.fetch("bench", source(github, f"mem/{n}.env"))
        # Only what envpayload's own code keeps: the local GitHub's request log and
        # PyGithub's connection pool are in the same process but are not the cache.
        diff = tracemalloc.take_snapshot().compare_to(start, "filename")
        grown = sum(s.size_diff for s in diff if "/envpayload/" in s.traceback[0].filename)
        tracemalloc.stop()
        print(
            f"cache: {grown / (count - 1) / 1024:.1f} KiB per remembered 4 KiB file "
            f"({count - 1} files)"
        )
