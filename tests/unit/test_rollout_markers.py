"""Restart markers: annotation names, keyed fingerprints, and the patches that write them."""

from __future__ import annotations

import base64
import hashlib

from envpayload.keyring import Fingerprinter
from envpayload.rollout.consumers import ALL_KEYS, Consumption
from envpayload.rollout.markers import (
    Changes,
    annotation_name,
    content_fingerprint,
    fingerprint,
    marker_key,
    restart_changes,
    revert_changes,
    settled_fingerprint,
    settled_key,
)

KEY = Fingerprinter(b"k" * 32)
OTHER_KEY = Fingerprinter(b"o" * 32)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


DATA = {"DB": b64("hunter2"), "API_KEY": b64("k-1")}


def test_short_secret_names_are_the_annotation_name() -> None:
    assert annotation_name("app-env") == "app-env"
    assert marker_key("app-env") == "fingerprint.envpayload.io/app-env"
    assert settled_key("app-env") == "settled.envpayload.io/app-env"


def test_long_secret_names_are_cut_with_a_digest_and_stay_distinct() -> None:
    first, second = "a" * 100 + ".one", "a" * 100 + ".two"

    assert len(annotation_name(first)) == 63
    assert annotation_name(first) != annotation_name(second)
    assert annotation_name(first) == annotation_name(first)


def test_a_fingerprint_changes_only_with_the_consumed_keys() -> None:
    db_only = Consumption(keys=frozenset({"DB"}))
    rotated_api_key = {**DATA, "API_KEY": b64("k-2")}
    rotated_db = {**DATA, "DB": b64("hunter3")}

    assert fingerprint(KEY, rotated_api_key, db_only) == fingerprint(KEY, DATA, db_only)
    assert fingerprint(KEY, rotated_db, db_only) != fingerprint(KEY, DATA, db_only)
    assert fingerprint(KEY, rotated_api_key, ALL_KEYS) != fingerprint(KEY, DATA, ALL_KEYS)


def test_a_key_that_appears_or_disappears_changes_the_fingerprint() -> None:
    wants_new = Consumption(keys=frozenset({"DB", "NEW"}))

    with_new = fingerprint(KEY, {**DATA, "NEW": b64("")}, wants_new)

    assert with_new != fingerprint(KEY, DATA, wants_new)


def test_a_fingerprint_is_keyed_and_never_a_bare_hash_of_a_value() -> None:
    value = fingerprint(KEY, DATA, Consumption(keys=frozenset({"DB"})))
    bare = {hashlib.sha256(t.encode()).hexdigest() for t in ("hunter2", DATA["DB"])}

    assert value != fingerprint(OTHER_KEY, DATA, Consumption(keys=frozenset({"DB"})))
    assert not any(h[:16] in value for h in bare)
    assert "hunter2" not in value
    assert DATA["DB"] not in value


def test_the_settled_fingerprint_prefers_the_settled_mark_over_the_marker() -> None:
    settled, marker = fingerprint(KEY, DATA, ALL_KEYS), fingerprint(KEY, {}, ALL_KEYS)

    both = settled_fingerprint(KEY, {settled_key("s"): settled}, {marker_key("s"): marker}, "s")
    marker_only = settled_fingerprint(KEY, {}, {marker_key("s"): marker}, "s")
    neither = settled_fingerprint(KEY, {}, {}, "s")

    assert (both, marker_only, neither) == (settled, marker, None)


def test_marks_made_with_another_key_count_as_unknown() -> None:
    foreign = fingerprint(OTHER_KEY, DATA, ALL_KEYS)

    assert settled_fingerprint(KEY, {settled_key("s"): foreign}, {}, "s") is None


def test_the_content_fingerprint_names_the_whole_secret() -> None:
    assert content_fingerprint(KEY, DATA) != content_fingerprint(KEY, {**DATA, "X": ""})
    assert content_fingerprint(KEY, DATA) == content_fingerprint(KEY, dict(reversed(DATA.items())))


def test_a_restart_patches_the_template_and_the_settled_mark_together() -> None:
    patch = restart_changes("app-env", "f1").merge_patch()

    assert patch == {
        "metadata": {"annotations": {"settled.envpayload.io/app-env": "f1"}},
        "spec": {
            "template": {"metadata": {"annotations": {"fingerprint.envpayload.io/app-env": "f1"}}}
        },
    }


def test_changes_for_several_secrets_merge_into_one_patch() -> None:
    merged = restart_changes("a", "fa").merged(restart_changes("b", "fb"))
    later = merged.merged(restart_changes("a", "fa2"))

    assert merged.template == {marker_key("a"): "fa", marker_key("b"): "fb"}
    assert later.template == {marker_key("a"): "fa2", marker_key("b"): "fb"}


def test_a_revert_removes_a_marker_that_was_not_there_before() -> None:
    patch = revert_changes("s", None, "f0").merge_patch()

    assert patch["spec"]["template"]["metadata"]["annotations"] == {marker_key("s"): None}
    assert patch["metadata"]["annotations"] == {settled_key("s"): "f0"}


def test_settling_alone_does_not_touch_the_template() -> None:
    changes = Changes(metadata={settled_key("s"): "f"})

    assert not changes.restarts
    assert "spec" not in changes.merge_patch()
