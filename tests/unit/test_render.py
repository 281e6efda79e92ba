"""The rendered Secret is a pure function of the payload and the target."""

from __future__ import annotations

import base64

from envpayload.payload import Payload
from envpayload.render import MANAGED_BY_LABEL, OWNER_LABEL, Owner, redact_secret, render_secret
from envpayload.spec import Target

OWNER = Owner(namespace="shop", name="app", uid="1234")
PAYLOAD = Payload.from_plain({"A": "1", "B": "two\nlines"}, text='A=1\nB="two\nlines"\n')


def decoded(manifest: dict[str, object]) -> dict[str, str]:
    data = manifest["data"]
    assert isinstance(data, dict)
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def test_values_are_stored_base64_under_their_keys() -> None:
    secret = render_secret(OWNER, Target(name="app-env"), PAYLOAD)
    assert decoded(secret) == {"A": "1", "B": "two\nlines"}
    assert secret["metadata"]["name"] == "app-env"
    assert secret["metadata"]["namespace"] == "shop"
    assert secret["type"] == "Opaque"


def test_the_file_key_holds_the_verbatim_payload() -> None:
    secret = render_secret(OWNER, Target(name="app", file_key=".env"), PAYLOAD)
    assert decoded(secret)[".env"] == 'A=1\nB="two\nlines"\n'


def test_delete_policy_makes_the_envpayload_the_controlling_owner() -> None:
    refs = render_secret(OWNER, Target(name="app"), PAYLOAD)["metadata"]["ownerReferences"]
    assert refs == [
        {
            "apiVersion": "envpayload.io/v1alpha1",
            "kind": "EnvPayload",
            "name": "app",
            "uid": "1234",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_retain_policy_leaves_no_owner_reference_but_keeps_the_labels() -> None:
    metadata = render_secret(OWNER, Target(name="app", deletion_policy="Retain"), PAYLOAD)[
        "metadata"
    ]
    assert "ownerReferences" not in metadata
    assert metadata["labels"] == {MANAGED_BY_LABEL: "envpayload-operator", OWNER_LABEL: "app"}


def test_rendering_is_deterministic() -> None:
    assert render_secret(OWNER, Target(name="app"), PAYLOAD) == render_secret(
        OWNER, Target(name="app"), PAYLOAD
    )


def test_redaction_keeps_keys_and_hides_every_value() -> None:
    redacted = redact_secret(render_secret(OWNER, Target(name="app", file_key=".env"), PAYLOAD))
    assert redacted["data"] == {"A": "<redacted>", "B": "<redacted>", ".env": "<redacted>"}
