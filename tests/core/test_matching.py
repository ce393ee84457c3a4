"""The SLO index against the obvious reference: filter every SLO of the catalogue for every event."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core import matching
from slawatch.core.event import Event
from slawatch.core.matching import MISSING_GROUP, SloIndex
from slawatch.core.model import (
    AlertPolicy,
    EventMatch,
    GroupBy,
    GroupDimension,
    RollingWindow,
    Sli,
    SliKind,
    Slo,
)


def slo(name: str, match: EventMatch, group_by: GroupBy | None = None) -> Slo:
    return Slo(
        name=name,
        match=match,
        sli=Sli(SliKind.AVAILABILITY),
        objective=0.999,
        windows=(RollingWindow(28 * 86400),),
        alerting=AlertPolicy(burn_rate_rules=()),
        group_by=group_by,
    )


def event(service: str = "checkout", **fields) -> Event:
    return Event(service=service, ts=0.0, ok=True, **fields)


def reference(slos, e: Event) -> tuple[Slo, ...]:
    def passes(m: EventMatch) -> bool:
        return (
            m.service == e.service
            and m.operation in (None, e.operation)
            and m.region in (None, e.region)
            and all((e.attributes or {}).get(k) == v for k, v in m.attributes)
        )

    return tuple(s for s in slos if passes(s.match))


services = st.sampled_from(["checkout", "search", "login"])
maybe = lambda values: st.one_of(st.none(), st.sampled_from(values))  # noqa: E731
matches = st.builds(
    EventMatch,
    service=services,
    operation=maybe(["pay", "refund"]),
    region=maybe(["eu", "us"]),
    attributes=st.lists(st.tuples(st.sampled_from(["tier", "plan"]), st.sampled_from(["gold", "free"])), max_size=2).map(
        lambda pairs: tuple(dict(pairs).items())
    ),
)
catalogues = st.lists(matches, max_size=8).map(lambda ms: [slo(f"slo-{i}", m) for i, m in enumerate(ms)])
events = st.builds(
    Event,
    service=st.sampled_from(["checkout", "search", "login", "unknown"]),
    ts=st.just(0.0),
    ok=st.just(True),
    operation=maybe(["pay", "refund", "browse"]),
    region=maybe(["eu", "us", "ap"]),
    attributes=st.one_of(
        st.none(), st.dictionaries(st.sampled_from(["tier", "plan", "other"]), st.sampled_from(["gold", "free"]))
    ),
)


@settings(max_examples=200, deadline=None)
@given(catalogues, st.lists(events, max_size=20))
def test_slos_for_agrees_with_filtering_the_whole_catalogue_even_when_memoised(slos, stream):
    index = SloIndex(slos)
    for e in stream + stream:  # the second pass is answered from the memo
        assert index.slos_for(e) == reference(slos, e)


@settings(max_examples=50, deadline=None)
@given(catalogues, st.lists(events, max_size=30))
def test_answers_stay_right_after_the_memo_overflows(slos, stream):
    limit, matching.MEMO_LIMIT = matching.MEMO_LIMIT, 2
    try:
        index = SloIndex(slos)
        assert all(index.slos_for(e) == reference(slos, e) for e in stream)
    finally:
        matching.MEMO_LIMIT = limit


def test_a_filter_free_service_returns_the_same_precomputed_tuple_every_time():
    slos = [slo("availability", EventMatch("checkout")), slo("latency", EventMatch("checkout"))]
    index = SloIndex(slos)
    first = index.slos_for(event(operation="pay"))
    assert first == tuple(slos)
    assert index.slos_for(event(region="eu")) is first


def test_an_event_of_an_unknown_service_counts_for_nothing():
    assert SloIndex([slo("a", EventMatch("checkout"))]).slos_for(event("billing")) == ()


def test_slos_keep_catalogue_order_when_filtered_and_unfiltered_mix():
    pay = slo("pay", EventMatch("checkout", operation="pay"))
    everything = slo("everything", EventMatch("checkout"))
    gold_eu = slo("gold-eu", EventMatch("checkout", region="eu", attributes=(("tier", "gold"),)))
    index = SloIndex([pay, everything, gold_eu])
    assert index.slos_for(event(operation="pay", region="eu", attributes={"tier": "gold"})) == (pay, everything, gold_eu)
    assert index.slos_for(event(operation="pay", region="eu")) == (pay, everything)
    assert index.slos_for(event(operation="refund", region="eu", attributes={"tier": "free"})) == (everything,)


def test_known_services_are_those_with_an_slo():
    index = SloIndex([slo("a", EventMatch("checkout")), slo("b", EventMatch("search", region="eu"))])
    assert index.known_services == frozenset({"checkout", "search"})


def test_a_grouped_slo_keys_an_event_by_its_customer():
    per_customer = slo("per-customer", EventMatch("checkout"), GroupBy(GroupDimension.CUSTOMER, 100))
    assert SloIndex.group_of(per_customer, event(customer="acme")) == "acme"


def test_an_event_without_the_grouped_value_falls_in_the_missing_group():
    per_region = slo("per-region", EventMatch("checkout"), GroupBy(GroupDimension.REGION, 10))
    assert SloIndex.group_of(per_region, event()) == MISSING_GROUP
    assert SloIndex.group_of(per_region, event(region="")) == MISSING_GROUP


def test_a_slo_grouped_by_operation_reads_the_operation():
    per_operation = slo("per-op", EventMatch("checkout"), GroupBy(GroupDimension.OPERATION, 10))
    assert SloIndex.group_of(per_operation, event(operation="pay", customer="acme")) == "pay"


def test_an_ungrouped_slo_has_no_group_key():
    assert SloIndex.group_of(slo("plain", EventMatch("checkout")), event(customer="acme")) is None
