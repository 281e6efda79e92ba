"""What the Helm chart renders, value by value (``helm template``; no cluster needed).

Whether the apiserver accepts the result, PodSecurity admits the pods and the operator
can work with the permissions granted is tested on the local plane, in
tests/cluster/test_install_helm.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.binaries import CHART, REPO, find, helm_env, program, render_chart, run

CRD = REPO / "manifests" / "crds" / "envpayloads.envpayload.io.yaml"


@pytest.fixture
def render(tmp_path: Path) -> Any:
    def render(*settings: str) -> list[dict[str, Any]]:
        return render_chart(*settings, home=tmp_path)

    return render


@pytest.fixture
def refused(tmp_path: Path) -> Any:
    """Render with ``settings`` expecting helm to refuse; returns what it said."""

    def refused(*settings: str) -> str:
        argv: list[str | Path] = [program("helm"), "template", "x", CHART]
        for setting in settings:
            argv += ["--set", setting]
        result = run(argv, env=helm_env(tmp_path), check=False)
        assert result.returncode != 0, f"helm rendered {settings} without complaint"
        return result.stderr

    return refused


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def _env(deployment: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _container(deployment)["env"]}


def _rules(objects: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    (role,) = find(objects, kind, name)
    rules: list[dict[str, Any]] = role["rules"]
    return rules


@pytest.mark.parametrize(
    "setting",
    ["image.tga=1.0", "metrics.serviceMonitor.enable=true", "watch.namespace={a}", "replicas=2"],
)
def test_a_misspelt_value_fails_the_install(refused: Any, setting: str) -> None:
    said = refused(setting)

    misspelt = setting.split("=")[0].rsplit(".", 1)[-1]
    assert misspelt in said


def test_a_misspelt_setting_fails_and_a_known_one_reaches_the_environment(
    refused: Any, render: Any
) -> None:
    said = refused("settings.ENVPAYLOAD_LOG_FROMAT=json")
    (deployment,) = find(render("settings.ENVPAYLOAD_LOG_FORMAT=json"), "Deployment")

    assert "ENVPAYLOAD_LOG_FROMAT" in said
    assert _env(deployment)["ENVPAYLOAD_LOG_FORMAT"] == "json"


def test_settings_the_chart_manages_cannot_be_set_twice(refused: Any) -> None:
    said = refused("settings.ENVPAYLOAD_NAMESPACE=other")

    assert "ENVPAYLOAD_NAMESPACE" in said


def test_by_default_the_operator_serves_every_namespace_through_one_cluster_role(
    render: Any,
) -> None:
    objects = render()
    (deployment,) = find(objects, "Deployment")
    (binding,) = find(objects, "ClusterRoleBinding")

    assert "--all-namespaces" in _container(deployment)["args"]
    assert binding["roleRef"]["name"] == "envpayload-operator"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "envpayload-operator", "namespace": "envpayload-system"}
    ]
    assert _env(deployment)["ENVPAYLOAD_NAMESPACE"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}
    }


def test_listed_namespaces_get_roles_and_nothing_cluster_wide(render: Any) -> None:
    objects = render("watch.namespaces={shop,billing}")
    (deployment,) = find(objects, "Deployment")

    assert find(objects, "ClusterRole") == []
    assert find(objects, "ClusterRoleBinding") == []
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in find(objects, "Role")}
    assert roles == {
        ("shop", "envpayload-operator"),
        ("billing", "envpayload-operator"),
        ("envpayload-system", "envpayload-operator-self"),
        ("envpayload-system", "envpayload-operator-public-keys-reader"),
    }
    args = _container(deployment)["args"]
    assert "--all-namespaces" not in args
    assert [a for a in args if a.startswith("--namespace=")] == [
        "--namespace=shop",
        "--namespace=billing",
    ]


def test_both_modes_grant_the_same_rules_in_a_served_namespace(render: Any) -> None:
    cluster = _rules(render(), "ClusterRole", "envpayload-operator")
    namespaced = _rules(render("watch.namespaces={shop}"), "Role", "envpayload-operator")

    # The cluster-wide mode adds only what Kopf needs to notice CRD changes.
    extra = [r for r in cluster if r not in namespaced]
    assert extra == [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": ["list", "watch"],
        }
    ]
    assert [r for r in cluster if r in namespaced] == namespaced


def test_no_rule_grants_everything(render: Any) -> None:
    for setting in ((), ("watch.namespaces={shop}", "standby.enabled=true")):
        objects = render(*setting)
        for role in find(objects, "ClusterRole") + find(objects, "Role"):
            for rule in role["rules"]:
                assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
                assert not {"deletecollection", "escalate", "bind"} & set(rule["verbs"])
                # Deleting is for Secrets only: the one a renamed target leaves behind.
                if "delete" in rule["verbs"]:
                    assert (rule["apiGroups"], rule["resources"]) == ([""], ["secrets"])


def test_the_keyring_secret_is_readable_by_name_only(render: Any) -> None:
    rules = _rules(render("watch.namespaces={shop}"), "Role", "envpayload-operator-self")

    secret_reads = [r for r in rules if "secrets" in r["resources"] and "get" in r["verbs"]]
    assert secret_reads == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["envpayload-keyring"],
            "verbs": ["get", "update", "patch"],
        }
    ]


def test_the_deployment_runs_one_replica_replaced_with_recreate(render: Any) -> None:
    (deployment,) = find(render(), "Deployment")

    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not any(a.startswith("--peering") for a in _container(deployment)["args"])


def test_the_pods_are_restricted_and_probed_on_the_liveness_endpoint(render: Any) -> None:
    (deployment,) = find(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    liveness_port = next(p for p in container["ports"] if p["name"] == "healthz")
    assert "--liveness=http://0.0.0.0:8080/healthz" in container["args"]
    assert liveness_port["containerPort"] == 8080


def test_standby_runs_a_second_operator_with_a_lower_priority(render: Any) -> None:
    objects = render("standby.enabled=true")
    active, standby = find(objects, "Deployment")

    def peering(deployment: dict[str, Any]) -> list[str]:
        return [a for a in _container(deployment)["args"] if a.startswith(("--peering", "--prio"))]

    assert standby["metadata"]["name"] == active["metadata"]["name"] + "-standby"
    assert peering(active) == ["--peering=envpayload-operator", "--priority=100"]
    assert peering(standby) == ["--peering=envpayload-operator", "--priority=50"]
    # Disjoint selectors: each Deployment owns only its own pod.
    assert active["spec"]["selector"]["matchLabels"] != standby["spec"]["selector"]["matchLabels"]
    crds = {c["metadata"]["name"] for c in find(objects, "CustomResourceDefinition")}
    assert {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"} <= crds
    peering_rules = [
        r
        for r in _rules(objects, "ClusterRole", "envpayload-operator")
        if "kopf.dev" in r["apiGroups"]
    ]
    assert peering_rules[0]["resources"] == ["clusterkopfpeerings"]


def test_standby_with_listed_namespaces_peers_in_each_of_them(render: Any) -> None:
    objects = render("standby.enabled=true", "watch.namespaces={shop}")

    rules = _rules(objects, "Role", "envpayload-operator")
    assert any(r["resources"] == ["kopfpeerings"] for r in rules)


def test_standby_needs_a_lower_priority_than_the_active_operator(refused: Any) -> None:
    said = refused("standby.enabled=true", "standby.standbyPriority=100")

    assert "standby.priority must be higher" in said


def test_the_alert_webhook_comes_from_an_existing_secret(render: Any) -> None:
    (without,) = find(render(), "Deployment")
    (deployment,) = find(
        render("alerts.webhookSecret.name=ops-alerts", "alerts.webhookSecret.key=slack"),
        "Deployment",
    )

    assert "OPERATIONS_ALERT_WEBHOOK" not in _env(without)
    assert _env(deployment)["OPERATIONS_ALERT_WEBHOOK"] == {
        "secretKeyRef": {"name": "ops-alerts", "key": "slack"}
    }


def test_the_service_monitor_scrapes_the_metrics_service(render: Any) -> None:
    objects = render(
        "metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.team=ops"
    )
    (service,) = find(objects, "Service")
    (monitor,) = find(objects, "ServiceMonitor")
    (deployment,) = find(objects, "Deployment")

    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    assert monitor["metadata"]["labels"]["team"] == "ops"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert _env(deployment)["ENVPAYLOAD_METRICS_PORT"] == "9090"


def test_metrics_can_be_turned_off(render: Any) -> None:
    objects = render("metrics.enabled=false", "metrics.serviceMonitor.enabled=true")
    (deployment,) = find(objects, "Deployment")

    assert find(objects, "Service") == []
    assert find(objects, "ServiceMonitor") == []
    assert _env(deployment)["ENVPAYLOAD_METRICS_PORT"] == "0"


def test_the_prometheus_rule_carries_the_projects_alerting_rules(render: Any) -> None:
    (rule,) = find(render("metrics.prometheusRule.enabled=true"), "PrometheusRule")

    rules = yaml.safe_load((REPO / "observability" / "prometheus-rules.yaml").read_text())
    assert rule["spec"] == rules
    assert find(render(), "PrometheusRule") == []


def test_the_crd_is_the_one_in_manifests_kept_on_uninstall(render: Any) -> None:
    (kept,) = find(render(), "CustomResourceDefinition")
    (plain,) = find(render("crds.keep=false"), "CustomResourceDefinition")

    assert kept["metadata"].pop("annotations") == {"helm.sh/resource-policy": "keep"}
    assert kept == plain == yaml.safe_load(CRD.read_text())
    assert find(render("crds.install=false"), "CustomResourceDefinition") == []


def test_an_image_digest_wins_over_the_tag(render: Any) -> None:
    digest = "sha256:" + "ab" * 32
    (tagged,) = find(render(), "Deployment")
    (pinned,) = find(render(f"image.digest={digest}", "image.tag=9.9.9"), "Deployment")

    assert _container(tagged)["image"] == "ghcr.io/envpayload/envpayload-operator:0.1.0"
    assert _container(pinned)["image"] == f"ghcr.io/envpayload/envpayload-operator@{digest}"


def test_helm_lint_finds_nothing_to_warn_about(tmp_path: Path) -> None:
    result = run([program("helm"), "lint", "--strict", CHART], env=helm_env(tmp_path))

    assert "0 chart(s) failed" in result.stdout


def test_the_github_webhook_takes_its_secret_from_a_secret_and_gets_a_service(
    render: Any,
) -> None:
    objects = render("githubWebhook.secret.name=github-hook", "standby.enabled=true")
    active, standby = find(objects, "Deployment")
    (service,) = find(objects, "Service", "envpayload-operator-webhook")

    assert _env(active)["ENVPAYLOAD_GITHUB_WEBHOOK_SECRET"] == {
        "secretKeyRef": {"name": "github-hook", "key": "secret"}
    }
    assert _env(active)["ENVPAYLOAD_WEBHOOK_PORT"] == "8081"
    assert {"name": "webhook", "containerPort": 8081, "protocol": "TCP"} in _container(active)[
        "ports"
    ]
    # Only the active operator receives pushes: a paused standby would wake nothing.
    pod_labels = active["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    standby_labels = standby["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= standby_labels.items()


def test_without_a_webhook_secret_there_is_no_endpoint(render: Any) -> None:
    objects = render()
    (deployment,) = find(objects, "Deployment")

    assert find(objects, "Service", "envpayload-operator-webhook") == []
    assert "ENVPAYLOAD_GITHUB_WEBHOOK_SECRET" not in _env(deployment)
    assert "webhook" not in {p["name"] for p in _container(deployment)["ports"]}


def test_anyone_authenticated_may_read_the_public_keys_and_only_them(render: Any) -> None:
    objects = render()
    role = next(
        r for r in find(objects, "Role") if r["metadata"]["name"].endswith("public-keys-reader")
    )
    binding = next(
        b
        for b in find(objects, "RoleBinding")
        if b["metadata"]["name"].endswith("public-keys-reader")
    )

    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["envpayload-sealing-keys"],
            "verbs": ["get"],
        }
    ]
    assert binding["subjects"] == [
        {"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}
    ]
    assert [
        r
        for r in find(render("rbac.publicKeyReaders=null"), "Role")
        if "public-keys" in r["metadata"]["name"]
    ] == []
