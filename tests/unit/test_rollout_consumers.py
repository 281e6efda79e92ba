"""Which keys of which Secrets a pod template consumes."""

from __future__ import annotations

from typing import Any

from envpayload.rollout.consumers import ALL_KEYS, Consumption, consumed_secrets, consumption_of


def keys(*names: str) -> Consumption:
    return Consumption(keys=frozenset(names))


def test_env_from_a_secret_consumes_every_key() -> None:
    pod = {"containers": [{"name": "app", "envFrom": [{"secretRef": {"name": "app-env"}}]}]}

    assert consumption_of(pod, "app-env") == ALL_KEYS


def test_a_secret_key_ref_consumes_only_that_key() -> None:
    pod = {
        "containers": [
            {
                "name": "app",
                "env": [
                    {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "app-env", "key": "DB"}}},
                    {"name": "PLAIN", "value": "not from a secret"},
                    {"name": "K", "valueFrom": {"secretKeyRef": {"name": "other", "key": "K"}}},
                ],
            }
        ]
    }

    assert consumed_secrets(pod) == {"app-env": keys("DB"), "other": keys("K")}


def test_init_containers_count_like_containers() -> None:
    ref = {"name": "M", "valueFrom": {"secretKeyRef": {"name": "app-env", "key": "MIGRATE"}}}
    pod = {"initContainers": [{"name": "migrate", "env": [ref]}], "containers": [{"name": "a"}]}

    assert consumption_of(pod, "app-env") == keys("MIGRATE")


def test_a_secret_volume_consumes_every_key_or_the_items_listed() -> None:
    whole = {"volumes": [{"name": "v", "secret": {"secretName": "app-env"}}]}
    some = {
        "volumes": [
            {
                "name": "v",
                "secret": {"secretName": "app-env", "items": [{"key": "TLS", "path": "t"}]},
            }
        ]
    }

    assert consumption_of(whole, "app-env") == ALL_KEYS
    assert consumption_of(some, "app-env") == keys("TLS")


def test_a_projected_volume_consumes_its_secret_sources() -> None:
    pod = {
        "volumes": [
            {
                "name": "v",
                "projected": {
                    "sources": [
                        {"secret": {"name": "app-env", "items": [{"key": "A", "path": "a"}]}},
                        {"configMap": {"name": "app-config"}},
                        {"secret": {"name": "other"}},
                    ]
                },
            }
        ]
    }

    assert consumed_secrets(pod) == {"app-env": keys("A"), "other": ALL_KEYS}


def test_several_references_to_one_secret_add_up() -> None:
    pod = {
        "containers": [
            {
                "name": "a",
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "X"}}}],
            },
            {
                "name": "b",
                "env": [{"name": "Y", "valueFrom": {"secretKeyRef": {"name": "s", "key": "Y"}}}],
            },
        ],
        "volumes": [
            {"name": "v", "secret": {"secretName": "s", "items": [{"key": "Z", "path": "z"}]}}
        ],
    }
    everything = {**pod, "volumes": [{"name": "v", "secret": {"secretName": "s"}}]}

    assert consumption_of(pod, "s") == keys("X", "Y", "Z")
    assert consumption_of(everything, "s") == ALL_KEYS


def test_image_pull_secrets_and_other_secrets_are_not_consumption() -> None:
    pod: dict[str, Any] = {
        "imagePullSecrets": [{"name": "app-env"}],
        "containers": [{"name": "a", "envFrom": [{"configMapRef": {"name": "app-env"}}]}],
    }

    assert consumption_of(pod, "app-env") is None


def test_a_consumption_takes_its_keys_from_what_is_there() -> None:
    available = ["B", "A", "C"]

    assert ALL_KEYS.taken_from(available) == ("A", "B", "C")
    assert keys("C", "A", "MISSING").taken_from(available) == ("A", "C")
