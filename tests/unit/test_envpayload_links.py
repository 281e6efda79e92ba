"""The index that tells which EnvPayloads a Secret event or a GitHub push concerns."""

from __future__ import annotations

from typing import Any

from envpayload.controller.handlers import PUSHED, READS, WRITES, links_of


def links(name: str, spec: dict[str, Any]) -> dict[Any, Any]:
    return links_of("shop", name, spec)


def test_a_secret_source_is_read_and_the_target_written() -> None:
    found = links("app", {"source": {"secretRef": {"name": "app-env"}}, "target": {"name": "t"}})

    assert found == {(READS, "shop", "app-env"): "app", (WRITES, "shop", "t"): "app"}


def test_the_target_defaults_to_the_envpayloads_name() -> None:
    found = links("app", {"source": {"inline": {"sealed": "esv1.x"}}})

    assert found == {(WRITES, "shop", "app"): "app"}


def test_a_github_source_links_its_ref_and_its_credentials() -> None:
    github = {
        "repository": "Acme/Shop",
        "ref": "refs/heads/main",
        "credentialsSecretRef": {"name": "gh"},
    }

    found = links("app", {"source": {"github": github}})

    assert found == {
        (WRITES, "shop", "app"): "app",
        (READS, "shop", "gh"): "app",
        # As the webhook spells a pushed source: lower case, short ref.
        (PUSHED, "acme/shop", "main"): ("shop", "app"),
    }


def test_a_github_source_without_a_ref_follows_the_default_branch() -> None:
    found = links("app", {"source": {"github": {"repository": "acme/shop"}}})

    assert found[(PUSHED, "acme/shop", "")] == ("shop", "app")
