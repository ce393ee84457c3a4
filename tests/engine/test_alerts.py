"""The alert lifecycle: hold hysteresis, inhibition, throttled updates, JSON snapshots."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.alerts import FIRING, RESOLVED, UPDATE, AlertBook, LifecycleConfig, alert_id
from slawatch.core.policies import BURN_RATE, EVENT_TIME_TYPES, Condition

TYPES = EVENT_TIME_TYPES


def cond(id="page-fast", holds=True, ratio=0.5, rank=120, family="burn:page", short=10):
    return Condition(id, BURN_RATE, "page", holds, "rule text", (), ratio, 10.0, None, family, rank, short)


def test_an_alert_fires_at_onset_with_a_deterministic_id_and_resolves_after_the_hold():
    book = AlertBook("slo")
    (fired,) = book.step(None, [cond()], 100.0, 100.0, TYPES)
    assert fired.kind == FIRING and fired.id == alert_id("slo", None, "page-fast", 100.0)
    assert book.step(None, [cond(holds=False)], 101.0, 101.0, TYPES) == []
    assert book.step(None, [cond(holds=False)], 160.0, 160.0, TYPES) == []  # 59 s < 60 s hold
    (resolved,) = book.step(None, [cond(holds=False)], 161.0, 161.0, TYPES)
    assert resolved.kind == RESOLVED and resolved.id == fired.id and resolved.ends_at == 101.0


def test_a_dip_shorter_than_the_hold_does_not_flap():
    book = AlertBook("slo")
    notices = []
    for t in range(100, 400):
        notices += book.step(None, [cond(holds=(t // 40) % 2 == 0)], float(t), float(t), TYPES)
    assert [n.kind for n in notices] == [FIRING]


def test_a_faster_rule_inhibits_a_slower_one_of_the_same_severity_which_stays_recorded():
    book = AlertBook("slo")
    fast, slow = cond("page-fast", rank=120), cond("page-slow", rank=720)
    notices = book.step(None, [fast, slow], 100.0, 100.0, TYPES)
    assert [n.condition.id for n in notices] == ["page-fast"]
    assert {a.condition.id: a.inhibited for a in book.firing()} == {"page-fast": False, "page-slow": True}
    book.step(None, [cond("page-fast", holds=False), slow], 101.0, 101.0, TYPES)
    handover = book.step(None, [cond("page-fast", holds=False), slow], 161.0, 161.0, TYPES)
    # One continuous page: the slower one opens in the step the faster one closes, and before it.
    assert [(n.kind, n.condition.id) for n in handover] == [(FIRING, "page-slow"), (RESOLVED, "page-fast")]
    assert handover[0].starts_at == 100.0


def test_updates_come_at_most_every_interval_and_only_on_a_material_change():
    book = AlertBook("slo", LifecycleConfig(update_interval_s=60))
    book.step(None, [cond(ratio=0.5)], 0.0, 0.0, TYPES)
    assert book.step(None, [cond(ratio=0.4)], 30.0, 30.0, TYPES) == []  # too soon
    assert book.step(None, [cond(ratio=0.5 - 0.001)], 61.0, 61.0, TYPES) == []  # not material
    (update,) = book.step(None, [cond(ratio=0.4)], 62.0, 62.0, TYPES)
    assert update.kind == UPDATE and update.seq == 1


def test_the_book_survives_a_json_round_trip():
    book = AlertBook("slo")
    book.step("acme", [cond()], 100.0, 100.0, TYPES)
    restored = AlertBook("slo")
    restored.load_json(json.loads(json.dumps(book.to_json())))
    assert restored.alerts == book.alerts
    assert restored.step("acme", [cond(holds=False)], 200.0, 200.0, TYPES) == []
    (resolved,) = restored.step("acme", [cond(holds=False)], 260.0, 260.0, TYPES)
    assert resolved.id == alert_id("slo", "acme", "page-fast", 100.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=120), st.integers(0, 119))
def test_an_alert_never_resolves_before_it_fires_even_across_a_restart(holds, restart_at):
    book = AlertBook("slo", resolve_hold_s=3)
    sent: dict[str, str] = {}
    for t, (fast, slow) in enumerate(holds):
        if t == restart_at:
            book2 = AlertBook("slo", book.config, book.resolve_hold_s)
            book2.load_json(json.loads(json.dumps(book.to_json())))
            book = book2
        conditions = [cond("page-fast", fast, rank=1, short=0), cond("page-slow", slow, rank=2, short=0)]
        for notice in book.step(None, conditions, float(t), float(t), TYPES):
            if notice.kind == RESOLVED:
                assert sent.pop(notice.id) == FIRING
            elif notice.kind == FIRING:
                assert notice.id not in sent
                sent[notice.id] = FIRING
    assert set(sent) == {a.id for a in book.firing() if a.notified}
