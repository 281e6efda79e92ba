"""The ``github`` source: a file in a GitHub (or GitHub Enterprise Server) repository.

Polling a file must cost GitHub almost nothing. Per file this fetcher keeps the ETag of
the last answer, the file's git blob SHA, the commit that last changed it, and the bytes
(in memory only, never logged). Each poll is then one conditional request:

- 304 Not Modified: nothing changed, and GitHub does not count the request against the
  primary rate limit;
- 200 with the same blob SHA: the ETag changed but the file did not (ETags are tied to
  the token, and a GitHub App's token changes every hour); nothing more is asked;
- 200 with a new blob SHA: the file changed; one more request finds the commit that
  changed it, which becomes the source version in status (``commit:<sha>``).

The blob SHA is computed from the bytes the way git does, so it needs no request. It is
shown (``blob:<sha> commit:<sha>``) only for a sealed file: the SHA-1 of a plain file
would let anyone who can read the EnvPayload test guesses of its content.

Credentials come from a Secret in the EnvPayload's namespace (keys: ``token``, or
``appId``, ``installationId``, ``privateKey``); one client per Secret version is kept,
so a GitHub App's installation token and a rate-limit cool-down are shared by every
EnvPayload that uses the same Secret, and a changed Secret takes effect at once.

To notice that change without a read per poll, the fetcher asks :class:`SecretVersions`,
the newest versions the operator's watch of Secrets has seen: a client whose Secret has
no newer version is used without reading the Secret (for ten minutes at most).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.errors import SourceError, SourceForbiddenError
from envpayload.fetch import Fetched
from envpayload.github_api.client import GitHubClient, describe_file
from envpayload.github_api.credentials import Credentials, read_credentials
from envpayload.kube import describe_api_error
from envpayload.sealing import is_sealed
from envpayload.spec import GitHubSource, Source

# A sealed envelope of the largest payload a Secret can hold (1 MiB) is about 1.4 MB.
MAX_FILE_BYTES: Final = 2 * 1024 * 1024
# Credentials Secrets are read again at least this often, even when no watch event says
# they changed (one could come before the EnvPayload that reads the Secret is indexed).
CREDENTIALS_MAX_AGE_SECONDS: Final = 600.0
# Files and clients remembered; the least recently used go first. A forgotten file only
# costs one full read (and a commit lookup) at its next poll.
MAX_FILES: Final = 1024
MAX_CACHED_BYTES: Final = 64 * 1024 * 1024
MAX_CLIENTS: Final = 256

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class CredentialsSecret:
    """A credentials Secret's data (decoded) and the resourceVersion it was read at."""

    data: Mapping[str, str]
    version: str

    def __repr__(self) -> str:
        return f"CredentialsSecret(keys={sorted(self.data)!r}, version={self.version!r})"


# Reads the credentials Secret ``name`` in ``namespace``; raises SourceError if it cannot.
CredentialsReader = Callable[[str, str], CredentialsSecret]
ClientFactory = Callable[[str, Credentials | None, str], GitHubClient]


def git_blob_sha(content: bytes) -> str:
    """The SHA git gives ``content`` stored as a blob (what GitHub reports as ``sha``)."""
    header = f"blob {len(content)}\0".encode()
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


def file_version(content: bytes, blob: str, commit: str | None) -> str:
    """The source version of a file: its commit, and its blob SHA when it is sealed.

    The blob SHA of a sealed file hashes ciphertext; of a plain file, the payload itself.
    """
    version = f"commit:{commit or 'unknown'}"
    return f"blob:{blob} {version}" if is_sealed(content) else version


@dataclass(frozen=True)
class _Known:
    etag: str | None
    blob: str
    fetched: Fetched


class _Lru(Generic[K, V]):
    """A small thread-safe mapping that forgets its least recently used entries.

    Bounded by a count and by a total weight (bytes, for cached files).
    """

    def __init__(
        self, size: int, max_weight: int = 0, weight: Callable[[V], int] = lambda _: 0
    ) -> None:
        self._size = size
        self._max_weight = max_weight
        self._weight = weight
        self._total = 0
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if key in self._items:
                self._total -= self._weight(self._items.pop(key))
            self._items[key] = value
            self._total += self._weight(value)
            while len(self._items) > self._size or (
                self._max_weight and self._total > self._max_weight and len(self._items) > 1
            ):
                self._total -= self._weight(self._items.popitem(last=False)[1])


class SecretVersions:
    """The newest resourceVersion the operator's watch has seen of Secrets EnvPayloads read."""

    def __init__(self) -> None:
        self._newest: _Lru[tuple[str, str], str] = _Lru(MAX_FILES)

    def changed(self, namespace: str, name: str, version: str | None) -> None:
        """The watch saw Secret ``name`` at ``version`` (None: it was deleted)."""
        self._newest.put((namespace, name), version or "")

    def is_newest(self, namespace: str, name: str, version: str) -> bool:
        """False when the watch has seen another version of the Secret since ``version``."""
        newest = self._newest.get((namespace, name))
        return newest is None or newest == version


@dataclass(frozen=True)
class _Client:
    """A client, and the version of its credentials Secret when that was last read."""

    version: str
    read_at: float
    github: GitHubClient


class KubeCredentialsReader:
    """Reads credentials Secrets through the Kubernetes API (the EnvPayload's namespace)."""

    def __init__(self, core: client.CoreV1Api) -> None:
        self._core = core

    def __call__(self, namespace: str, name: str) -> CredentialsSecret:
        where = f"credentials Secret {name}"
        try:
            secret = self._core.read_namespaced_secret(name, namespace)
        except ApiException as e:
            if e.status == 404:
                raise SourceForbiddenError(f"{where} does not exist") from None
            raise SourceError(f"{where}: {describe_api_error(e)}") from None
        data: dict[str, str] = {}
        for key, encoded in (secret.data or {}).items():
            try:
                data[key] = base64.b64decode(encoded, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                raise SourceForbiddenError(f"{where}: key {key} is not UTF-8 text") from None
        version = secret.metadata.resource_version if secret.metadata else ""
        return CredentialsSecret(data=data, version=version or "")


class GitHubFetcher:
    """Fetches ``github`` sources with one conditional request per poll."""

    def __init__(
        self,
        read_secret: CredentialsReader,
        new_client: ClientFactory,
        max_files: int = MAX_FILES,
        max_bytes: int = MAX_CACHED_BYTES,
        *,
        versions: SecretVersions | None = None,
        credentials_max_age: float = CREDENTIALS_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_secret = read_secret
        self._new_client = new_client
        self._versions = versions
        self._credentials_max_age = credentials_max_age
        self._clock = clock
        self._files: _Lru[tuple[str, ...], _Known] = _Lru(
            max_files, max_bytes, lambda known: len(known.fetched.content)
        )
        self._clients: _Lru[tuple[str, str, str], _Client] = _Lru(MAX_CLIENTS)

    def fetch(self, namespace: str, source: Source) -> Fetched:
        assert isinstance(source, GitHubSource)
        where = describe_file(source.repository, source.path, source.ref)
        github = self._client(namespace, source)

        key = (
            namespace,
            github.base_url,
            source.repository.lower(),
            source.path.strip("/"),
            source.ref,
            source.credentials_secret,
        )
        known = self._files.get(key)
        raw = github.get_raw(
            source.repository, source.path, source.ref, known.etag if known else None
        )
        if raw is None and known is not None:
            logger.debug("%s has not changed (%s)", where, known.fetched.version)
            return known.fetched
        if raw is None:
            # A 304 to a request that carried no ETag: GitHub would never send it.
            raise SourceError(f"{where}: GitHub answered 304 to an unconditional request")

        if len(raw.content) > MAX_FILE_BYTES:
            raise SourceError(
                f"{where}: the file has {len(raw.content)} bytes, more than the "
                f"{MAX_FILE_BYTES} a payload (even sealed) can take"
            )
        blob = git_blob_sha(raw.content)
        if known is not None and known.blob == blob:
            logger.debug("%s has a new ETag but the same content", where)
            self._files.put(key, _Known(raw.etag, blob, known.fetched))
            return known.fetched

        commit = github.last_commit(source.repository, source.path, source.ref)
        fetched = Fetched(
            content=raw.content,
            version=file_version(raw.content, blob, commit),
            where=where,
        )
        self._files.put(key, _Known(raw.etag, blob, fetched))
        logger.info("Read %s in namespace %s: %s", where, namespace, fetched.version)
        return fetched

    def _client(self, namespace: str, source: GitHubSource) -> GitHubClient:
        """The client for this source's credentials Secret, as it is now."""
        name = source.credentials_secret
        key = (namespace, name, source.base_url)
        cached = self._clients.get(key)
        if cached is not None and self._unchanged(namespace, name, cached):
            return cached.github

        secret = self._read_secret(namespace, name) if name else None
        version = secret.version if secret is not None else ""
        if cached is not None and cached.version == version:
            self._clients.put(key, _Client(version, self._clock(), cached.github))
            return cached.github

        # A new or changed Secret: a new client. The old one is dropped, not closed, since
        # another sync may still be using it.
        credentials, label = None, "anonymous"
        if secret is not None:
            credentials = read_credentials(secret.data, f"credentials Secret {name}")
            label = f"{namespace}/{name}"
        github = self._new_client(source.base_url, credentials, label)
        self._clients.put(key, _Client(version, self._clock(), github))
        return github

    def _unchanged(self, namespace: str, name: str, cached: _Client) -> bool:
        """True when the credentials Secret need not be read: none, or none newer seen."""
        if not name:
            return True
        return (
            self._versions is not None
            and self._clock() - cached.read_at < self._credentials_max_age
            and self._versions.is_newest(namespace, name, cached.version)
        )
