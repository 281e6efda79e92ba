"""The operator's metrics: what each recorded fact exports, and that series stay bounded."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from envpayload.report.metrics import Metrics

PAYLOAD = {"namespace": "shop", "name": "app"}


def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


def value(m: Metrics, metric: str, /, **labels: str) -> float | None:
    return m.registry.get_sample_value(metric, labels)


def test_a_successful_sync_counts_by_result_and_sets_the_times() -> None:
    m = metrics()

    m.synced(
        "shop", "app", source="secretRef", changed=True, seconds=0.3, now=2000.0, last_change=1500.0
    )
    m.synced(
        "shop",
        "app",
        source="secretRef",
        changed=False,
        seconds=0.1,
        now=2100.0,
        last_change=1500.0,
    )

    assert value(m, "envpayload_syncs_total", **PAYLOAD, result="changed") == 1
    assert value(m, "envpayload_syncs_total", **PAYLOAD, result="unchanged") == 1
    assert value(m, "envpayload_ready", **PAYLOAD) == 1
    assert value(m, "envpayload_last_sync_timestamp_seconds", **PAYLOAD) == 2100.0
    assert value(m, "envpayload_last_change_timestamp_seconds", **PAYLOAD) == 1500.0
    assert (
        value(m, "envpayload_sync_duration_seconds_count", source="secretRef", result="changed")
        == 1
    )
    assert (
        value(
            m,
            "envpayload_sync_duration_seconds_bucket",
            source="secretRef",
            result="unchanged",
            le="0.1",
        )
        == 1
    )


def test_a_failed_sync_counts_its_reason_and_keeps_the_last_success_time() -> None:
    m = metrics()
    m.synced(
        "shop", "app", source="inline", changed=True, seconds=0.3, now=2000.0, last_change=2000.0
    )

    m.failed(
        "shop", "app", source="inline", reason="EnvelopeRejected", seconds=0.2, last_change=2000.0
    )

    assert value(m, "envpayload_syncs_total", **PAYLOAD, result="failed") == 1
    assert value(m, "envpayload_sync_errors_total", **PAYLOAD, reason="EnvelopeRejected") == 1
    assert value(m, "envpayload_ready", **PAYLOAD) == 0
    assert value(m, "envpayload_last_sync_timestamp_seconds", **PAYLOAD) == 2000.0


def test_the_functions_for_rollouts_sources_github_and_sealing_export_their_series() -> None:
    m = metrics()

    m.restart("shop", "app", kind="Deployment", result="Restarted")
    m.rollout(result="Available", seconds=42)
    m.source_request("github", "Fetched")
    m.github_rate_limit_remaining("api.github.com", "shop/github-token", 4321)
    m.github_webhook("accepted")
    m.sealed_with("shop", "app", retired_key=True)
    m.rotation("shop", "app", 90 * 86400)

    assert (
        value(m, "envpayload_restarts_total", **PAYLOAD, kind="Deployment", result="Restarted") == 1
    )
    assert value(m, "envpayload_rollout_duration_seconds_sum", result="Available") == 42
    assert value(m, "envpayload_source_requests_total", source="github", result="Fetched") == 1
    assert (
        value(
            m,
            "envpayload_github_rate_limit_remaining",
            host="api.github.com",
            credentials="shop/github-token",
        )
        == 4321
    )
    assert value(m, "envpayload_github_webhook_requests_total", result="accepted") == 1
    assert value(m, "envpayload_sealed_with_retired_key", **PAYLOAD) == 1
    assert value(m, "envpayload_rotation_max_age_seconds", **PAYLOAD) == 7776000


def test_a_deleted_envpayload_takes_every_series_of_its_own_along() -> None:
    m = metrics()
    for name in ("app", "other"):
        m.synced(
            "shop", name, source="secretRef", changed=True, seconds=0.1, now=1.0, last_change=1.0
        )
        m.failed("shop", name, source="secretRef", reason="Conflict", seconds=0.1, last_change=1.0)
        m.restart("shop", name, kind="Deployment", result="Restarted")
        m.rotation("shop", name, 60)

    m.forget("shop", "app")

    exported = generate_latest(m.registry).decode()
    assert 'name="app"' not in exported
    assert 'name="other"' in exported
    # Aggregates without per-payload labels stay.
    assert (
        value(m, "envpayload_sync_duration_seconds_count", source="secretRef", result="changed")
        == 2
    )


def test_no_label_takes_free_text() -> None:
    m = metrics()
    payload_labels = {"namespace", "name"}
    fixed_sets = {
        "result",
        "reason",
        "source",
        "kind",
        "alert",
        "cause",
        "host",
        "credentials",
        "version",
    }

    for family in m.registry.collect():
        if not family.name.startswith("envpayload_"):
            continue
        for sample in family.samples:
            assert set(sample.labels) - {"le"} <= payload_labels | fixed_sets, family.name


def test_every_exported_name_is_known_for_dashboards_and_rules() -> None:
    m = metrics()

    names = m.names()

    assert {"envpayload_syncs_total", "envpayload_sync_duration_seconds_bucket"} <= names
    assert "process_resident_memory_bytes" in names
