"""Which SLOs an event counts for, and under which group, answered once per event.

Most SLOs match on the service alone, so the index keeps, per service, the tuple of SLOs to return
and answers with one dict lookup. A service with filtered SLOs (operation, region, attribute
equality) memoises its answer per distinct (operation, region, filtered attributes) combination, so
each combination is filtered once; the memo is cleared if it ever grows past MEMO_LIMIT entries
(a producer sending unbounded operation names must not grow memory without bound).

Group keys: an SLO with `group_by` keeps one state per customer / region / operation. An event
without that value (None or "") is grouped under MISSING_GROUP, so it still counts, visibly.
Capping the number of groups (GroupBy.max_groups) is the engine's job, which owns the state.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from slawatch.core.event import Event
from slawatch.core.model import EventMatch, GroupDimension, Slo

MISSING_GROUP = "__none__"
MEMO_LIMIT = 4096

_GROUP_VALUE = {
    GroupDimension.CUSTOMER: attrgetter("customer"),
    GroupDimension.REGION: attrgetter("region"),
    GroupDimension.OPERATION: attrgetter("operation"),
}


def has_filters(match: EventMatch) -> bool:
    return match.operation is not None or match.region is not None or bool(match.attributes)


def matches(match: EventMatch, event: Event) -> bool:
    """Whether the event passes the SLO's filters (the service is assumed equal)."""
    if match.operation is not None and event.operation != match.operation:
        return False
    if match.region is not None and event.region != match.region:
        return False
    if match.attributes:
        attributes = event.attributes or {}
        return all(attributes.get(name) == value for name, value in match.attributes)
    return True


class _ServiceSlos:
    """The SLOs of one service, in catalogue order."""

    __slots__ = ("unfiltered", "ordered", "attribute_names", "memo")

    def __init__(self, slos: list[Slo]) -> None:
        self.ordered = tuple(slos)
        self.unfiltered = tuple(s for s in slos if not has_filters(s.match))
        # Only attributes that some filter reads can change the answer, so only they key the memo.
        self.attribute_names = tuple(sorted({name for s in slos for name, _ in s.match.attributes}))
        self.memo: dict[tuple, tuple[Slo, ...]] | None = None if len(self.unfiltered) == len(slos) else {}

    def for_event(self, event: Event) -> tuple[Slo, ...]:
        memo = self.memo
        if memo is None:
            return self.unfiltered
        attributes = event.attributes or {}
        key = (event.operation, event.region, *(attributes.get(n) for n in self.attribute_names))
        found = memo.get(key)
        if found is None:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            found = memo[key] = tuple(s for s in self.ordered if matches(s.match, event))
        return found


class SloIndex:
    """SLOs by service, compiled once per catalogue."""

    def __init__(self, slos: Sequence[Slo]) -> None:
        by_service: dict[str, list[Slo]] = {}
        for slo in slos:
            by_service.setdefault(slo.service, []).append(slo)
        self._services = {name: _ServiceSlos(group) for name, group in by_service.items()}
        self._known = frozenset(by_service)

    @property
    def known_services(self) -> frozenset[str]:
        return self._known

    def slos_for(self, event: Event) -> tuple[Slo, ...]:
        """The SLOs this event counts for, in catalogue order; () for an unknown service."""
        service = self._services.get(event.service)
        return () if service is None else service.for_event(event)

    @staticmethod
    def group_of(slo: Slo, event: Event) -> str | None:
        """The group this event belongs to under `slo`, or None when the SLO is not grouped."""
        if slo.group_by is None:
            return None
        return _GROUP_VALUE[slo.group_by.dimension](event) or MISSING_GROUP
