"""The decision per consumer: restart exactly when its settled content differs from now."""

from __future__ import annotations

import base64

from envpayload.keyring import Fingerprinter
from envpayload.rollout.consumers import ALL_KEYS, Consumption
from envpayload.rollout.markers import fingerprint, marker_key, settled_key
from envpayload.rollout.plan import (
    NOTIFY,
    PAUSED,
    RESTART,
    Content,
    RolloutPlan,
    baselines,
    plan_rollout,
)
from envpayload.rollout.workloads import Consumer, Selection, Workload
from envpayload.spec import Rollout, WorkloadRef

KEY = Fingerprinter(b"k" * 32)
DB = Consumption(keys=frozenset({"DB"}))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


OLD = {"DB": b64("old-password"), "API_KEY": b64("k-1")}
NEW_DB = {**OLD, "DB": b64("new-password")}
ROTATED_DB = Content(NEW_DB, OLD, ("DB",))


def consumer(
    name: str,
    consumption: Consumption,
    *,
    settled: str | None = None,
    marker: str | None = None,
    paused: bool = False,
) -> Consumer:
    annotations = {settled_key("app-env"): settled} if settled else {}
    template = {marker_key("app-env"): marker} if marker else {}
    return Consumer(
        Workload(
            kind="Deployment",
            name=name,
            uid=f"uid-{name}",
            generation=1,
            annotations=annotations,
            template_annotations=template,
            paused=paused,
        ),
        consumption,
    )


def plan(
    *consumers: Consumer,
    rollout: Rollout | None = None,
    content: Content = ROTATED_DB,
) -> RolloutPlan:
    return plan_rollout(
        Selection(consumers=consumers),
        content,
        namespace="ns",
        envpayload="app",
        secret_name="app-env",
        rollout=rollout or Rollout(),
        fingerprints=KEY,
    )


def settled_on(data: dict[str, str], consumption: Consumption) -> str:
    return fingerprint(KEY, data, consumption)


def test_a_consumer_settled_with_older_content_restarts_with_the_keys_that_changed() -> None:
    api = consumer("api", ALL_KEYS, settled=settled_on(OLD, ALL_KEYS))

    (decision,) = plan(api).decisions

    assert decision.action == RESTART
    assert decision.ref == WorkloadRef("Deployment", "api")
    assert decision.keys == ("DB",)
    assert decision.fingerprint == settled_on(NEW_DB, ALL_KEYS)
    assert decision.previous_fingerprint == settled_on(OLD, ALL_KEYS)


def test_a_consumer_of_other_keys_does_not_restart() -> None:
    worker = consumer("worker", Consumption(keys=frozenset({"API_KEY"})))
    worker = consumer("worker", worker.consumption, settled=settled_on(OLD, worker.consumption))

    assert plan(worker).decisions == ()


def test_a_consumer_already_settled_with_the_content_does_not_restart_again() -> None:
    api = consumer("api", DB, settled=settled_on(NEW_DB, DB), marker=settled_on(NEW_DB, DB))

    assert plan(api).decisions == ()


def test_a_consumer_the_operator_never_saw_is_taken_as_current() -> None:
    assert plan(consumer("new", DB)).decisions == ()


def test_after_a_crash_the_unsettled_consumer_still_restarts_naming_every_key_it_reads() -> None:
    # Nothing changed in this sync: the change was written before the crash.
    api = consumer("api", DB, settled=settled_on(OLD, DB))

    (decision,) = plan(api, content=Content(NEW_DB, NEW_DB, ())).decisions

    assert decision.action == RESTART
    assert decision.keys == ("DB",)


def test_the_marker_counts_when_there_is_no_settled_mark() -> None:
    api = consumer("api", DB, marker=settled_on(OLD, DB))

    (decision,) = plan(api).decisions

    assert decision.marker_before == settled_on(OLD, DB)


def test_notify_mode_announces_instead_of_restarting() -> None:
    api = consumer("api", DB, settled=settled_on(OLD, DB))

    (decision,) = plan(api, rollout=Rollout(mode="Notify")).decisions

    assert decision.action == NOTIFY


def test_a_paused_deployment_is_reported_not_restarted() -> None:
    api = consumer("api", DB, settled=settled_on(OLD, DB), paused=True)

    (decision,) = plan(api).decisions

    assert decision.action == PAUSED


def test_the_plan_lists_every_consumer_for_status() -> None:
    result = plan(consumer("a", DB), consumer("b", DB, settled=settled_on(OLD, DB)))

    assert result.consumers == (WorkloadRef("Deployment", "a"), WorkloadRef("Deployment", "b"))
    assert [d.ref.name for d in result.restarts] == ["b"]


def test_baselines_are_recorded_only_for_consumers_never_settled() -> None:
    known = consumer("known", DB, settled=settled_on(OLD, DB))
    unknown = consumer("unknown", DB)

    found = baselines(Selection(consumers=(known, unknown)), "app-env", OLD, KEY)

    assert [(w.name, c.metadata) for w, c in found] == [
        ("unknown", {settled_key("app-env"): settled_on(OLD, DB)})
    ]
    assert not found[0][1].restarts


def test_a_missing_secret_is_the_empty_baseline() -> None:
    (found,) = baselines(Selection(consumers=(consumer("a", DB),)), "app-env", None, KEY)

    assert found[1].metadata == {settled_key("app-env"): settled_on({}, DB)}
