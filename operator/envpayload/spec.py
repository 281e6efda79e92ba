"""A typed view of an EnvPayload resource, read once from the raw API dictionary.

The CRD's schema already rejects malformed objects at the apiserver; this module turns
a valid object into frozen dataclasses with the defaults applied, so the rest of the
code never digs through nested dictionaries or repeats a default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Literal

GROUP: Final = "envpayload.io"
VERSION: Final = "v1alpha1"
PLURAL: Final = "envpayloads"
KIND: Final = "EnvPayload"
API_VERSION: Final = f"{GROUP}/{VERSION}"

DEFAULT_SOURCE_KEY: Final = ".env"
DEFAULT_REFRESH: Final = timedelta(minutes=5)
DEFAULT_ROTATION_MAX_AGE: Final = timedelta(days=90)

SourceKind = Literal["secretRef", "inline", "github"]
RolloutMode = Literal["Auto", "Notify", "Off"]
RolloutStrategy = Literal["Parallel", "Sequential"]
DeletionPolicy = Literal["Delete", "Retain"]

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


class SpecError(ValueError):
    """The spec is not usable (the CRD schema should have caught it)."""


def parse_duration(text: str) -> timedelta:
    """Parse durations such as ``90d``, ``1h30m`` or ``45s``."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise SpecError(f"{text!r} is not a duration such as 30s, 5m, 1h30m or 90d")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


@dataclass(frozen=True)
class SecretRefSource:
    name: str
    key: str = DEFAULT_SOURCE_KEY
    # Only ever the EnvPayload's own namespace; kept so another one can be refused loudly.
    namespace: str | None = None


@dataclass(frozen=True)
class InlineSource:
    sealed: str = field(repr=False)


@dataclass(frozen=True)
class GitHubSource:
    repository: str
    path: str
    ref: str = ""
    base_url: str = ""
    credentials_secret: str = ""
    allow_plaintext: bool = False


Source = SecretRefSource | InlineSource | GitHubSource


@dataclass(frozen=True)
class Target:
    name: str
    file_key: str | None = None
    adopt: bool = False
    deletion_policy: DeletionPolicy = "Delete"


@dataclass(frozen=True)
class Validation:
    required: tuple[str, ...] = ()
    allow_empty: bool = True


@dataclass(frozen=True)
class WorkloadRef:
    kind: str
    name: str


@dataclass(frozen=True)
class Rollout:
    mode: RolloutMode = "Auto"
    targets: tuple[WorkloadRef, ...] = ()
    selector: Mapping[str, Any] | None = None
    strategy: RolloutStrategy = "Parallel"
    rollback_on_failure: bool = False
    timeout: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class EnvPayloadSpec:
    source: Source
    target: Target
    validation: Validation = Validation()
    refresh_interval: timedelta = DEFAULT_REFRESH
    rollout: Rollout = Rollout()
    rotation_max_age: timedelta = DEFAULT_ROTATION_MAX_AGE
    allow_older_serial: bool = False

    @property
    def writes_its_source(self) -> bool:
        """True when the target Secret is the source Secret (the CRD refuses that too)."""
        source = self.source
        return isinstance(source, SecretRefSource) and source.name == self.target.name

    @property
    def source_kind(self) -> SourceKind:
        if isinstance(self.source, SecretRefSource):
            return "secretRef"
        if isinstance(self.source, InlineSource):
            return "inline"
        return "github"


def read_spec(name: str, spec: Mapping[str, Any]) -> EnvPayloadSpec:
    """Read the ``spec`` of the EnvPayload called ``name``, applying every default."""
    target = spec.get("target") or {}
    validation = spec.get("validation") or {}
    rotation = spec.get("rotation") or {}
    sealing = spec.get("sealing") or {}
    return EnvPayloadSpec(
        source=_read_source(spec.get("source") or {}),
        target=Target(
            name=target.get("name") or name,
            file_key=target.get("fileKey") or None,
            adopt=bool(target.get("adopt", False)),
            deletion_policy=target.get("deletionPolicy") or "Delete",
        ),
        validation=Validation(
            required=tuple(validation.get("required") or ()),
            allow_empty=bool(validation.get("allowEmpty", True)),
        ),
        refresh_interval=_duration_or(spec.get("refreshInterval"), DEFAULT_REFRESH),
        rollout=_read_rollout(spec.get("rollout") or {}),
        rotation_max_age=_duration_or(rotation.get("maxAge"), DEFAULT_ROTATION_MAX_AGE),
        allow_older_serial=bool(sealing.get("allowRollback", False)),
    )


def _read_source(source: Mapping[str, Any]) -> Source:
    given = [kind for kind in ("secretRef", "inline", "github") if source.get(kind)]
    if len(given) != 1:
        raise SpecError("spec.source must name exactly one of secretRef, inline and github")

    if ref := source.get("secretRef"):
        return SecretRefSource(
            name=ref["name"],
            key=ref.get("key") or DEFAULT_SOURCE_KEY,
            namespace=ref.get("namespace") or None,
        )
    if inline := source.get("inline"):
        return InlineSource(sealed=inline["sealed"])
    github = source["github"]
    return GitHubSource(
        repository=github["repository"],
        path=github["path"],
        ref=github.get("ref") or "",
        base_url=github.get("baseUrl") or "",
        credentials_secret=(github.get("credentialsSecretRef") or {}).get("name", ""),
        allow_plaintext=bool(github.get("allowPlaintext", False)),
    )


def _read_rollout(rollout: Mapping[str, Any]) -> Rollout:
    return Rollout(
        mode=rollout.get("mode") or "Auto",
        targets=tuple(
            WorkloadRef(kind=t["kind"], name=t["name"]) for t in rollout.get("targets") or ()
        ),
        selector=rollout.get("selector") or None,
        strategy=rollout.get("strategy") or "Parallel",
        rollback_on_failure=bool(rollout.get("rollbackOnFailure", False)),
        timeout=_duration_or(rollout.get("timeout"), timedelta(minutes=5)),
    )


def _duration_or(text: str | None, default: timedelta) -> timedelta:
    return parse_duration(text) if text else default
