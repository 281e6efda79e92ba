"""Sealing and opening ``esv1.`` envelopes: time per envelope and size overhead.

Two payload sizes: 1 KiB (a typical application's ``.env``) and 900 KiB (close to what
one Secret can hold). Opening is measured as the operator does it (parse, then decrypt
with the key the header names); sealing as ``envpayload seal`` does it, without the
validation. Figures are medians of several rounds, in milliseconds.
"""

from __future__ import annotations

import datetime
import secrets
import statistics
import time
from collections.abc import Callable

from envpayload.sealing.envelope import seal
from envpayload.sealing.keys import Keyset, SealingKey
from envpayload.sealing.opener import KeyringOpener

SIZES = {"1 KiB": 1024, "900 KiB": 900 * 1024}
NAMESPACE, NAME = "production", "app"


def payload_of(size: int) -> bytes:
    """A .env text of ``size`` bytes: 64-character random values under numbered keys."""
    lines = []
    total = 0
    index = 0
    while total < size:
        line = f"SETTING_{index:05d}={secrets.token_urlsafe(48)}\n"
        lines.append(line)
        total += len(line)
        index += 1
    return "".join(lines).encode()[:size]


def median_ms(action: Callable[[], object], rounds: int) -> float:
    action()  # warm up
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    key = SealingKey.generate(datetime.datetime.now(datetime.UTC))
    opener = KeyringOpener(Keyset((key,)), reload=Keyset)

    print(f"{'payload':<10}{'seal ms':>10}{'open ms':>10}{'envelope bytes':>16}{'overhead':>22}")
    for label, size in SIZES.items():
        plaintext = payload_of(size)
        rounds = 200 if size < 64 * 1024 else 20

        def sealed(plaintext: bytes = plaintext) -> str:
            return seal(
                plaintext, key.public, scope="strict", serial=1, namespace=NAMESPACE, name=NAME
            )

        envelope = sealed().encode()

        def opened(envelope: bytes = envelope) -> object:
            return opener.open(envelope, NAMESPACE, NAME)

        seal_ms = median_ms(sealed, rounds)
        open_ms = median_ms(opened, rounds)

        extra = len(envelope) - len(plaintext)
        overhead = f"+{extra} B ({extra / len(plaintext):.1%})"
        print(f"{label:<10}{seal_ms:>10.3f}{open_ms:>10.3f}{len(envelope):>16}{overhead:>22}")

    print(
        "\nThe overhead is base64 (4/3 of the ciphertext), 48 bytes of HPKE (encapsulated key"
        "\nand tag) and about 95 characters of prefix and header."
    )
