"""The operator's :class:`~envpayload.sealing.Opener`: envelopes opened with its keyring.

It keeps the keyring in memory and picks the key by the id in the envelope's header.
A key it does not know may be new (made by another replica, or by ``envpayload keys
rotate``), so it reloads the keyring once before saying the key is unknown. Reloads are
spaced at least ``min_reload_interval`` apart, so envelopes naming made-up key ids cost
the apiserver at most one read every few seconds.

Sync threads call :meth:`KeyringOpener.open` concurrently; a lock guards the keyring.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from envpayload.errors import UnknownKeyError
from envpayload.sealing import Opened
from envpayload.sealing.envelope import decrypt, parse_envelope
from envpayload.sealing.keys import Keyset, SealingKey

logger = logging.getLogger(__name__)

DEFAULT_MIN_RELOAD_INTERVAL = 2.0


class KeyringOpener:
    """Opens envelopes with the keys of ``keyset``; ``reload`` reads the keyring again."""

    def __init__(
        self,
        keyset: Keyset,
        reload: Callable[[], Keyset],
        *,
        min_reload_interval: float = DEFAULT_MIN_RELOAD_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keyset = keyset
        self._reload = reload
        self._min_reload_interval = min_reload_interval
        self._clock = clock
        self._last_reload: float | None = None
        self._lock = threading.Lock()

    @property
    def keyset(self) -> Keyset:
        with self._lock:
            return self._keyset

    def update(self, keyset: Keyset) -> None:
        """Use a keyring read elsewhere (after a rotation, say)."""
        with self._lock:
            self._keyset = keyset

    def open(self, envelope: bytes, namespace: str, name: str) -> Opened:
        parsed = parse_envelope(envelope)
        header = parsed.header
        key, keyset = self._key(header.key_id)

        plaintext = decrypt(parsed, key.private, namespace, name)
        retired = keyset.is_retired(key.id)
        logger.debug(
            "Opened the envelope for %s/%s with key %s (serial %d, scope %s%s)",
            namespace,
            name,
            key.id,
            header.serial,
            header.scope,
            ", a retired key" if retired else "",
        )
        return Opened(plaintext=plaintext, key_id=key.id, serial=header.serial, retired_key=retired)

    def _key(self, key_id: str) -> tuple[SealingKey, Keyset]:
        """The key named ``key_id`` and the keyring it came from; reload once if unknown."""
        with self._lock:
            key = self._keyset.find(key_id)
            if key is None and self._may_reload():
                self._last_reload = self._clock()
                self._keyset = self._reload()
                key = self._keyset.find(key_id)
                logger.info(
                    "Reloaded the keyring for key %s: %s",
                    key_id,
                    "found" if key is not None else "not there either",
                )
            if key is None:
                raise UnknownKeyError(key_id)
            return key, self._keyset

    def _may_reload(self) -> bool:
        last = self._last_reload
        return last is None or self._clock() - last >= self._min_reload_interval
