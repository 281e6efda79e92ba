"""The CRD refuses malformed EnvPayloads at the apiserver, with messages that help."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from envpayload.spec import GROUP, PLURAL, VERSION
from tests.cluster.envpayloads import get_envpayload


def create(custom: client.CustomObjectsApi, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "EnvPayload",
        "metadata": {"name": "app"},
        "spec": spec,
    }
    created: Any = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    return dict(created)


def refusal(custom: client.CustomObjectsApi, namespace: str, spec: dict[str, Any]) -> str:
    with pytest.raises(ApiException) as caught:
        create(custom, namespace, spec)
    assert caught.value.status == 422
    return str(caught.value.body)


def test_defaults_are_filled_in_by_the_apiserver(
    crd: str, custom: client.CustomObjectsApi, namespace: str
) -> None:
    create(custom, namespace, {"source": {"secretRef": {"name": "app-env"}}})

    spec = get_envpayload(custom, namespace, "app")["spec"]
    assert spec["source"]["secretRef"]["key"] == ".env"
    assert spec["target"] == {"adopt": False, "deletionPolicy": "Delete"}
    assert spec["refreshInterval"] == "5m"


def test_exactly_one_source_is_required(
    crd: str, custom: client.CustomObjectsApi, namespace: str
) -> None:
    two = {"secretRef": {"name": "a"}, "inline": {"sealed": "esv1.abc"}}
    assert "exactly one of secretRef, inline and github" in refusal(
        custom, namespace, {"source": two}
    )
    assert "exactly one of secretRef, inline and github" in refusal(
        custom, namespace, {"source": {}}
    )


def test_a_refresh_interval_below_ten_seconds_is_refused(
    crd: str, custom: client.CustomObjectsApi, namespace: str
) -> None:
    spec = {"source": {"secretRef": {"name": "a"}}, "refreshInterval": "5s"}
    assert "refreshInterval must be at least 10s" in refusal(custom, namespace, spec)


@pytest.mark.parametrize(
    ("source", "target"),
    [("app", {}), ("app", {"name": ""}), ("app-env", {"name": "app-env"})],
    ids=["default target", "empty target name", "target named as the source"],
)
def test_a_target_that_is_the_source_secret_is_refused(
    crd: str, custom: client.CustomObjectsApi, namespace: str, source: str, target: dict[str, str]
) -> None:
    # The EnvPayload is called "app", which is also its target's name by default.
    spec = {"source": {"secretRef": {"name": source}}, "target": target}
    assert "the target Secret must not be the source Secret" in refusal(custom, namespace, spec)


def test_a_target_other_than_the_source_is_accepted(
    crd: str, custom: client.CustomObjectsApi, namespace: str
) -> None:
    create(
        custom,
        namespace,
        {"source": {"secretRef": {"name": "app"}}, "target": {"name": "app-secrets"}},
    )

    assert get_envpayload(custom, namespace, "app")["spec"]["target"]["name"] == "app-secrets"


@pytest.mark.parametrize(
    "spec",
    [
        {"source": {"secretRef": {"name": "Not_A_Name"}}},
        {"source": {"inline": {"sealed": "plain text"}}},
        {"source": {"github": {"repository": "no-slash", "path": ".env"}}},
        {"source": {"secretRef": {"name": "a"}}, "target": {"deletionPolicy": "Orphan"}},
        {"source": {"secretRef": {"name": "a"}}, "rollout": {"mode": "Sometimes"}},
        {"source": {"secretRef": {"name": "a"}}, "rotation": {"maxAge": "quarterly"}},
    ],
)
def test_malformed_fields_are_refused(
    crd: str, custom: client.CustomObjectsApi, namespace: str, spec: dict[str, Any]
) -> None:
    message = refusal(custom, namespace, spec)
    assert "Invalid value" in message or "Unsupported value" in message
