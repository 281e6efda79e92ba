"""A small GitHub on loopback, answering with the REST API's documented shapes.

PyGithub (and the operator process in cluster tests) talk to it through their real HTTP
stack, with ``base_url`` pointing here. It keeps repositories with commits, tokens and
one GitHub App, Actions secrets (sealed with a real libsodium key pair, so a test can
read back exactly what was written) and Actions permissions, and it logs every request
so tests can count them.

What it answers, as docs.github.com describes:

- ``GET /repos/{o}/{r}/contents/{path}``: raw bytes for ``application/vnd.github.raw+json``
  (JSON with base64 content otherwise), an ETag tied to the file and the credentials, and
  304 for a matching ``If-None-Match`` (not counted against the rate limit);
- ``GET /repos/{o}/{r}/commits?path=&sha=``: the commits that touched a path;
- ``POST /app/installations/{id}/access_tokens``: an installation token for a JWT signed
  with the App's key;
- Actions secrets (public key, PUT, list) for repositories and environments, and
  ``/actions/permissions`` with ``/actions/permissions/workflow``;
- rate-limit headers on every answer, 401 for bad credentials, 404 for what a token
  cannot see, 403 or 429 for rate limits, and any failure a test injects.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from nacl.public import PrivateKey, SealedBox

DOCS = "https://docs.github.com/rest"
_counter = itertools.count(1)


def _sha(*parts: bytes | str) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()


def _stamp(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _app_key() -> rsa.RSAPrivateKey:
    # Generating an RSA key takes a while; one per test session is enough.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def blob_sha(content: bytes) -> str:
    """The SHA git gives a blob, as GitHub reports it."""
    return _sha(f"blob {len(content)}\0", content)


@dataclass
class Commit:
    sha: str
    files: dict[str, bytes]
    changed: set[str]
    date: float


@dataclass
class Repo:
    full_name: str
    default_branch: str = "main"
    private: bool = True
    branches: dict[str, list[Commit]] = field(default_factory=dict)
    environments: set[str] = field(default_factory=set)
    secrets: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # Secrets its organisation shares with it; None for a repository owned by a user.
    organization_secrets: dict[str, dict[str, Any]] | None = None
    permissions: dict[str, Any] = field(
        default_factory=lambda: {"enabled": True, "allowed_actions": "selected"}
    )
    workflow_permissions: dict[str, Any] = field(
        default_factory=lambda: {
            "default_workflow_permissions": "read",
            "can_approve_pull_request_reviews": False,
        }
    )

    def head(self, ref: str) -> Commit | None:
        ref = ref or self.default_branch
        if ref in self.branches:
            return self.branches[ref][-1] if self.branches[ref] else None
        for commits in self.branches.values():
            for commit in commits:
                if commit.sha == ref:
                    return commit
        return None


@dataclass
class Grant:
    """What a token may do: every repository (None) or some; 403 on contents if forbidden."""

    repositories: set[str] | None = None
    forbidden: bool = False


@dataclass
class Failure:
    status: int
    message: str
    headers: dict[str, str]
    times: int | None
    path_contains: str


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int


@dataclass
class _Limit:
    limit: int
    remaining: int
    reset: float


class FakeGitHub:
    """A GitHub API on 127.0.0.1; use as a context manager, point ``url`` at it."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, Grant] = {}
        self.requests: list[Request] = []
        self.failures: list[Failure] = []
        self.secrets_key = PrivateKey.generate()
        self.secrets_key_id = "568250167242549743"
        self.app_id = "424242"
        self.app_key = _app_key()
        self.installations: set[int] = set()
        self.installation_token_lifetime = 3600.0
        self.installation_tokens: list[str] = []
        self._limits: dict[str, _Limit] = {}
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- running -------------------------------------------------------------------

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    # -- arranging -----------------------------------------------------------------

    def add_repo(
        self, full_name: str, *, default_branch: str = "main", private: bool = True
    ) -> Repo:
        with self._lock:
            repo = Repo(full_name, default_branch=default_branch, private=private)
            repo.branches[default_branch] = []
            self.repos[full_name.lower()] = repo
            return repo

    def commit(self, full_name: str, path: str, content: bytes | str, branch: str = "") -> str:
        """Commit one file on ``branch`` (the default one when empty); return the commit SHA."""
        raw = content.encode() if isinstance(content, str) else content
        with self._lock:
            repo = self.repos[full_name.lower()]
            branch = branch or repo.default_branch
            history = repo.branches.setdefault(branch, [])
            files = dict(history[-1].files) if history else {}
            files[path] = raw
            sha = _sha(full_name, branch, path, str(next(_counter)), raw)
            history.append(Commit(sha, files, {path}, time.time()))
            return sha

    def add_token(self, token: str, grant: Grant | None = None) -> None:
        with self._lock:
            self.tokens[token] = grant or Grant()

    def add_installation(self, installation_id: int) -> None:
        with self._lock:
            self.installations.add(installation_id)

    def app_private_key_pem(self) -> str:
        return self.app_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()

    def set_secret(
        self, full_name: str, name: str, value: str, *, updated: float, environment: str = ""
    ) -> None:
        with self._lock:
            repo = self.repos[full_name.lower()]
            store = repo.secrets.setdefault(environment, {})
            store[name] = {"value": value, "created_at": updated, "updated_at": updated}

    def share_organization_secret(self, full_name: str, name: str, *, updated: float) -> None:
        with self._lock:
            repo = self.repos[full_name.lower()]
            shared = repo.organization_secrets = repo.organization_secrets or {}
            shared[name] = {"value": "org", "created_at": updated, "updated_at": updated}

    def fail(
        self,
        status: int,
        message: str = "",
        *,
        times: int | None = None,
        headers: dict[str, str] | None = None,
        path_contains: str = "",
    ) -> None:
        """Answer ``status`` to the next ``times`` matching requests (all when None)."""
        with self._lock:
            self.failures.append(Failure(status, message, headers or {}, times, path_contains))

    def recover(self) -> None:
        with self._lock:
            self.failures.clear()

    def exhaust_rate_limit(self, credential: str, reset_in: float) -> None:
        """Spend the primary rate limit of ``credential`` (a token) until ``reset_in`` s."""
        with self._lock:
            self._limits[credential] = _Limit(5000, 0, time.time() + reset_in)

    # -- reading -------------------------------------------------------------------

    def count(self, method: str = "GET", path_contains: str = "", status: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if r.method == method
                and path_contains in r.path
                and (status is None or r.status == status)
            )

    def requests_to(self, path_contains: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path_contains in r.path]

    def secret_value(self, full_name: str, name: str, environment: str = "") -> str | None:
        with self._lock:
            repo = self.repos[full_name.lower()]
            secret = repo.secrets.get(environment, {}).get(name)
            return None if secret is None else str(secret["value"])

    # -- answering -----------------------------------------------------------------

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urllib.parse.urlsplit(target)
        path = urllib.parse.unquote(parts.path)
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        with self._lock:
            status, out, payload = self._route(method, path, query, headers, body)
            self.requests.append(Request(method, path, query, headers, status))
        return status, out, payload

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if (failure := self._failure_for(path)) is not None:
            return self._json(
                failure.status,
                {"message": failure.message, "documentation_url": DOCS},
                failure.headers,
            )

        if method == "POST" and path.startswith("/app/installations/"):
            return self._installation_token(path, headers)

        credential, grant = self._credential(headers)
        if grant is None:
            return self._json(401, {"message": "Bad credentials", "documentation_url": DOCS})

        limit = self._limit(credential)
        if limit.remaining <= 0 and time.time() < limit.reset:
            return self._json(
                403,
                {
                    "message": f"API rate limit exceeded for {credential[:4]}...",
                    "documentation_url": DOCS,
                },
                self._limit_headers(limit),
            )

        status, out, payload = self._repo_route(method, path, query, headers, body, grant)
        if status != 304:
            limit.remaining -= 1
        return status, {**out, **self._limit_headers(limit)}, payload

    def _repo_route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        grant: Grant,
    ) -> tuple[int, dict[str, str], bytes]:
        segments = path.strip("/").split("/")
        if len(segments) < 3 or segments[0] != "repos":
            return self._json(404, {"message": "Not Found", "documentation_url": DOCS})
        repo = self.repos.get(f"{segments[1]}/{segments[2]}".lower())
        visible = repo is not None and (
            not repo.private
            or (
                (grant.repositories is None or repo.full_name.lower() in grant.repositories)
                and headers.get("authorization")
            )
        )
        if repo is None or not visible:
            return self._json(404, {"message": "Not Found", "documentation_url": DOCS})
        rest = segments[3:]

        if not rest and method == "GET":
            return self._json(200, self._repo_json(repo))
        if rest[:1] == ["contents"] and method == "GET":
            if grant.forbidden:
                return self._json(
                    403,
                    {
                        "message": "Resource not accessible by personal access token",
                        "documentation_url": DOCS,
                    },
                )
            return self._contents(repo, "/".join(rest[1:]), query, headers)
        if rest == ["commits"] and method == "GET":
            return self._commits(repo, query)
        if rest[:2] == ["actions", "permissions"] and method == "GET":
            document = repo.workflow_permissions if rest[2:] == ["workflow"] else repo.permissions
            return self._json(200, document)
        if rest == ["actions", "organization-secrets"] and method == "GET":
            if repo.organization_secrets is None:
                return self._json(404, {"message": "Not Found", "documentation_url": DOCS})
            return self._secret_listing(repo.organization_secrets)
        if rest[:2] == ["actions", "secrets"]:
            return self._secrets(repo, "", rest[2:], method, body)
        if rest[:1] == ["environments"] and len(rest) >= 3 and rest[2] == "secrets":
            if rest[1] not in repo.environments:
                return self._json(404, {"message": "Not Found", "documentation_url": DOCS})
            return self._secrets(repo, rest[1], rest[3:], method, body)
        return self._json(404, {"message": "Not Found", "documentation_url": DOCS})

    def _contents(
        self, repo: Repo, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        head = repo.head(query.get("ref", ""))
        if head is None or path not in head.files:
            return self._json(404, {"message": "Not Found", "documentation_url": DOCS})
        content = head.files[path]
        sha = blob_sha(content)
        # Like GitHub's, the ETag depends on the credentials as well as on the file.
        etag = f'"{_sha(sha, headers.get("authorization", ""))}"'
        if headers.get("if-none-match") == etag:
            return 304, {"ETag": etag}, b""
        if "raw" in headers.get("accept", ""):
            return 200, {"Content-Type": "text/plain; charset=utf-8", "ETag": etag}, content
        document = {
            "type": "file",
            "encoding": "base64",
            "size": len(content),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "content": base64.b64encode(content).decode(),
        }
        return self._json(200, document, {"ETag": etag})

    def _commits(self, repo: Repo, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        ref = query.get("sha") or repo.default_branch
        history = repo.branches.get(ref)
        if history is None:
            head = repo.head(ref)
            if head is None:
                return self._json(
                    404, {"message": "No commit found for SHA: " + ref, "documentation_url": DOCS}
                )
            history = next(c for c in repo.branches.values() if head in c)
            history = history[: history.index(head) + 1]
        path = query.get("path", "")
        touched = [c for c in reversed(history) if not path or path in c.changed]
        per_page = int(query.get("per_page", "30"))
        return self._json(
            200, [{"sha": c.sha, "commit": {"message": "change"}} for c in touched[:per_page]]
        )

    def _secret_listing(
        self, store: dict[str, dict[str, Any]]
    ) -> tuple[int, dict[str, str], bytes]:
        listing = [
            {
                "name": name,
                "created_at": _stamp(s["created_at"]),
                "updated_at": _stamp(s["updated_at"]),
            }
            for name, s in sorted(store.items())
        ]
        return self._json(200, {"total_count": len(listing), "secrets": listing})

    def _secrets(
        self, repo: Repo, environment: str, rest: list[str], method: str, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        store = repo.secrets.setdefault(environment, {})
        if rest == ["public-key"] and method == "GET":
            key = base64.b64encode(bytes(self.secrets_key.public_key)).decode()
            return self._json(200, {"key_id": self.secrets_key_id, "key": key})
        if not rest and method == "GET":
            return self._secret_listing(store)
        if len(rest) == 1 and method == "PUT":
            document = json.loads(body)
            if document.get("key_id") != self.secrets_key_id:
                return self._json(
                    422, {"message": "Bad request: key_id", "documentation_url": DOCS}
                )
            value = SealedBox(self.secrets_key).decrypt(
                base64.b64decode(document["encrypted_value"])
            )
            now = time.time()
            created = rest[0] not in store
            previous = store.get(rest[0], {"created_at": now})
            store[rest[0]] = {
                "value": value.decode(),
                "created_at": previous["created_at"],
                "updated_at": now,
            }
            return (201 if created else 204), {}, b""
        return self._json(404, {"message": "Not Found", "documentation_url": DOCS})

    def _installation_token(
        self, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        bearer = headers.get("authorization", "").removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(bearer, self.app_key.public_key(), algorithms=["RS256"])
        except jwt.PyJWTError:
            return self._json(
                401, {"message": "A JSON web token could not be decoded", "documentation_url": DOCS}
            )
        if str(claims.get("iss")) != self.app_id:
            return self._json(401, {"message": "Integration not found", "documentation_url": DOCS})
        installation = path.strip("/").split("/")[2]
        if not installation.isdigit() or int(installation) not in self.installations:
            return self._json(404, {"message": "Not Found", "documentation_url": DOCS})
        token = f"ghs_{_sha(str(next(_counter)), installation)[:36]}"
        self.installation_tokens.append(token)
        self.tokens[token] = Grant()
        expires = time.time() + self.installation_token_lifetime
        return self._json(
            201,
            {"token": token, "expires_at": _stamp(expires), "permissions": {"contents": "read"}},
        )

    # -- helpers -------------------------------------------------------------------

    def _failure_for(self, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.path_contains in path:
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        self.failures.remove(failure)
                return failure
        return None

    def _credential(self, headers: dict[str, str]) -> tuple[str, Grant | None]:
        authorization = headers.get("authorization", "")
        if not authorization:
            return "anonymous", Grant(repositories=set())
        token = authorization.split(" ", 1)[-1].strip()
        return token, self.tokens.get(token)

    def _limit(self, credential: str) -> _Limit:
        limit = self._limits.get(credential)
        if limit is None or time.time() >= limit.reset:
            size = 60 if credential == "anonymous" else 5000
            limit = self._limits[credential] = _Limit(size, size, time.time() + 3600)
        return limit

    @staticmethod
    def _limit_headers(limit: _Limit) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(limit.limit),
            "x-ratelimit-remaining": str(max(limit.remaining, 0)),
            "x-ratelimit-reset": str(int(limit.reset)),
            "x-ratelimit-used": str(limit.limit - max(limit.remaining, 0)),
            "x-ratelimit-resource": "core",
        }

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        return {
            "id": abs(hash(repo.full_name)) % 10**8,
            "name": repo.full_name.split("/")[1],
            "full_name": repo.full_name,
            "private": repo.private,
            "default_branch": repo.default_branch,
            "url": f"{self.url}/repos/{repo.full_name}",
        }

    @staticmethod
    def _json(
        status: int, document: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return (
            status,
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            json.dumps(document).encode(),
        )


def _handler(github: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out, payload = github.answer(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in out.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
