"""The exceptions of envpayload, one tree under :class:`EnvPayloadError`.

Every failure a user can cause or meet is one of these. Each carries a ``reason`` (the
CamelCase word that lands in the ``Ready`` condition and in Events) and says whether
retrying can help on its own, so the controller maps errors to retries on purpose
instead of catching everything alike.

NB: Kopf copies ``str(exception)`` into status and annotations, and logs it. A message
here must never carry a payload value: name the line number or the key, never the text.
Constructors take structured arguments (line numbers, key names) rather than free text
for exactly that reason::

    EnvPayloadError
    ├── SourceError            the payload could not be fetched (retryable)
    │   ├── SourceNotFoundError
    │   ├── SourceForbiddenError
    │   └── RateLimitedError   the source asked us to wait (retry_after seconds)
    ├── EnvelopeError          a sealed envelope could not be opened
    │   ├── UnknownKeyError    sealed for a key this operator does not hold
    │   └── ReplayError        an older serial than the one last applied
    ├── PayloadError           the text is not a valid payload (line numbers)
    ├── ValidationError        the payload breaks a rule (key names)
    ├── ConflictError          the target Secret belongs to someone else
    └── RolloutError           a consumer did not become available again
        └── RolledBackError    the content failed to roll out and was rolled back
"""

from __future__ import annotations

from collections.abc import Sequence


class EnvPayloadError(Exception):
    """Base of every envpayload error; the message never contains a payload value."""

    reason = "SyncFailed"
    retryable = False


class SourceError(EnvPayloadError):
    """The source could not be read; trying again later may succeed."""

    reason = "SourceUnavailable"
    retryable = True


class SourceNotFoundError(SourceError):
    """The source does not exist (yet); it may be created later."""

    reason = "SourceNotFound"


class SourceForbiddenError(SourceError):
    """The source refused access: credentials are missing, wrong or lack a permission."""

    reason = "SourceForbidden"


class RateLimitedError(SourceError):
    """The source asked us to slow down; ``retry_after`` says for how long (seconds).

    The controller waits at least that long before the next sync of the EnvPayload, so a
    rate-limited source is not asked again before it said it would answer.
    """

    reason = "SourceRateLimited"

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class EnvelopeError(EnvPayloadError):
    """A sealed envelope could not be opened.

    Deliberately one message for every cryptographic or structural failure: distinct
    messages would tell an attacker which part of a forged envelope was wrong.
    """

    reason = "EnvelopeRejected"

    def __init__(self, message: str = "the sealed envelope could not be opened") -> None:
        super().__init__(message)


class UnknownKeyError(EnvelopeError):
    """The envelope names a key id this operator does not hold."""

    reason = "UnknownSealingKey"
    # The key may still arrive: a keyring restored from a backup, a replica's new key.
    retryable = True

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(
            f"the envelope was sealed for key {key_id}, which this operator does not hold "
            "(another cluster's key, or a retired key since deleted); seal the payload again"
        )


class ReplayError(EnvelopeError):
    """The envelope is older than the one last applied: a replay from history."""

    reason = "EnvelopeReplayed"

    def __init__(self, serial: int, last_applied: int) -> None:
        self.serial = serial
        self.last_applied = last_applied
        super().__init__(
            f"the envelope has serial {serial}, older than serial {last_applied} applied "
            "before; re-seal the payload or set spec.sealing.allowRollback"
        )


class PayloadError(EnvPayloadError):
    """The payload text does not parse; every problem is named by its line number."""

    reason = "InvalidPayload"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class ValidationError(EnvPayloadError):
    """The payload parses but breaks a rule; every problem names a key, never a value."""

    reason = "ValidationFailed"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class ConflictError(EnvPayloadError):
    """The target Secret exists and is not ours to write."""

    reason = "Conflict"


class RolloutError(EnvPayloadError):
    """A restarted consumer did not become available in time."""

    reason = "RolloutFailed"
    retryable = True


class RolledBackError(RolloutError):
    """The source's content failed to roll out and was rolled back; it is not applied again.

    Retrying cannot help: the same content would fail the same way. A change of the
    source (new content) is applied as usual.
    """

    reason = "RolledBack"
    retryable = False

    def __init__(self, secret_name: str) -> None:
        self.secret_name = secret_name
        super().__init__(
            f"the source's content failed to roll out and was rolled back; Secret "
            f"{secret_name} keeps the previous content until the source changes"
        )
