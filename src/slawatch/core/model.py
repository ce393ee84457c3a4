"""The domain model: services, SLOs and their alert policies, as plain frozen values.

This is what the catalogue loader produces (from OpenSLO or the native form) and what the engine
consumes. It knows nothing of YAML, Kafka or clocks: durations are whole seconds, instants are epoch
seconds (float), ratios are floats in [0, 1]. Keeping the file format apart from the model (Sloth's
spec/model split) means both catalogue forms map onto one thing the engine can trust.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

# How long a rate alert's condition must stay false before it resolves, unless the SLO says otherwise.
# Fixed, not scaled by any window: docs/catalogue.md ("resolve_hold") gives the evidence for the value.
DEFAULT_RESOLVE_HOLD_S = 60


class SliKind(str, Enum):
    """What makes one event good."""

    AVAILABILITY = "availability"  # good = event.ok
    LATENCY_THRESHOLD = "latency_threshold"  # good = event.latency_ms <= threshold_ms
    LATENCY_PERCENTILE = "latency_percentile"  # good timeslice = pNN(latency) <= threshold_ms


class ErrorHandling(str, Enum):
    """How a latency-threshold SLI treats failed events (ok = false).

    COUNT: every event counts by its latency alone; errors are the availability SLO's business.
    IGNORE: only successful events count (errors are neither good nor bad).
    BAD: a failed event is bad whatever its latency.
    """

    COUNT = "count"
    IGNORE = "ignore"
    BAD = "bad"


class BudgetingMethod(str, Enum):
    """OpenSLO budgeting methods."""

    OCCURRENCES = "Occurrences"  # good events / total events
    TIMESLICES = "Timeslices"  # good slices / total slices; a slice is good if its ratio >= slice target
    RATIO_TIMESLICES = "RatioTimeslices"  # mean of the per-slice ratios


class GroupDimension(str, Enum):
    """Dimensions an SLO may be split by (one state per value, capped)."""

    CUSTOMER = "customer"
    REGION = "region"
    OPERATION = "operation"


class CalendarUnit(str, Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Severity(str, Enum):
    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True, slots=True)
class RollingWindow:
    """The last `duration_s` seconds before now."""

    duration_s: int

    @property
    def name(self) -> str:
        from slawatch.core.durations import format_duration

        return format_duration(self.duration_s)


@dataclass(frozen=True, slots=True)
class CalendarWindow:
    """The calendar period (e.g. month) containing now, in `time_zone` (IANA name)."""

    unit: CalendarUnit
    count: int = 1
    time_zone: str = "UTC"

    @property
    def name(self) -> str:
        unit = self.unit.value
        return unit if self.count == 1 else f"{self.count}{unit}s"


ComplianceWindow = RollingWindow | CalendarWindow


@dataclass(frozen=True, slots=True)
class EventMatch:
    """Which events an SLO counts: the service plus optional equality filters."""

    service: str
    operation: str | None = None
    region: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Sli:
    kind: SliKind
    threshold_ms: float | None = None  # latency kinds
    percentile: float | None = None  # LATENCY_PERCENTILE, in (0, 100), e.g. 99.0
    errors: ErrorHandling = ErrorHandling.COUNT  # LATENCY_THRESHOLD


@dataclass(frozen=True, slots=True)
class Budgeting:
    method: BudgetingMethod = BudgetingMethod.OCCURRENCES
    timeslice_s: int | None = None  # Timeslices / RatioTimeslices
    timeslice_target: float | None = None  # Timeslices: a slice is good when its ratio >= this


@dataclass(frozen=True, slots=True)
class BurnRateRule:
    """One multiwindow burn-rate condition: burn over BOTH windows must reach `factor`.

    factor = budget_percent x period / 100 / long window (SRE workbook, "Alerting on SLOs").
    """

    name: str
    severity: Severity
    long_window_s: int
    short_window_s: int
    budget_percent: float
    factor: float


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    burn_rate_rules: tuple[BurnRateRule, ...]
    budget_consumed_thresholds: tuple[float, ...] = (0.5, 0.75, 0.9)
    min_events: int = 0  # per alert window: fewer events than this never fire (low-traffic guard)
    no_data_after_s: int | None = None  # wall clock; None = no no-data alert
    forecast: bool = True  # warn when the budget runs out before the period ends
    # Event time a rate condition must stay false before its alert resolves (alerts.AlertBook).
    resolve_hold_s: int = DEFAULT_RESOLVE_HOLD_S


@dataclass(frozen=True, slots=True)
class FixedExclusion:
    """[start, end) in epoch seconds."""

    start: float
    end: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RecurringExclusion:
    """Occurrences of an RFC 5545 RRULE, each lasting `duration_s`, interpreted in `time_zone`.

    `dtstart` is a naive ISO local date-time ("2026-01-04T02:00:00") in that zone.
    """

    rrule: str
    dtstart: str
    duration_s: int
    time_zone: str = "UTC"
    reason: str = ""


Exclusion = FixedExclusion | RecurringExclusion


@dataclass(frozen=True, slots=True)
class GroupBy:
    dimension: GroupDimension
    max_groups: int


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    owner: str = ""
    tier: str = ""
    description: str = ""
    runbook_url: str = ""
    dashboard_url: str = ""
    exclusions: tuple[Exclusion, ...] = ()


@dataclass(frozen=True, slots=True)
class Slo:
    """One service level objective (or, with `contractual`, an agreed SLA).

    `windows[0]` is the primary window: alert factors are derived from it. Further windows are
    extra compliance periods computed from the same state (e.g. rolling 28d + calendar month).
    `contractual` marks calendar windows as contract periods whose miss is an SLA breach.
    """

    name: str
    match: EventMatch
    sli: Sli
    objective: float  # target ratio in (0, 1), e.g. 0.999
    windows: tuple[ComplianceWindow, ...]
    alerting: AlertPolicy
    budgeting: Budgeting = field(default_factory=Budgeting)
    group_by: GroupBy | None = None
    exclusions: tuple[Exclusion, ...] = ()
    contractual: bool = False
    description: str = ""
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def service(self) -> str:
        return self.match.service


@dataclass(frozen=True, slots=True)
class Catalog:
    services: tuple[Service, ...]
    slos: tuple[Slo, ...]
    # Indexes built once, so looking up each of 1,000 services is not a scan of 10,000 SLOs.
    _service_by_name: dict[str, Service] = field(init=False, repr=False, compare=False)
    _slos_by_service: dict[str, tuple[Slo, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Service] = {}
        for service in self.services:
            by_name.setdefault(service.name, service)  # the first of a name, as a scan would find
        by_service: dict[str, list[Slo]] = {}
        for slo in self.slos:
            by_service.setdefault(slo.match.service, []).append(slo)
        object.__setattr__(self, "_service_by_name", by_name)
        object.__setattr__(self, "_slos_by_service", {name: tuple(slos) for name, slos in by_service.items()})

    def service(self, name: str) -> Service | None:
        return self._service_by_name.get(name)

    def slos_for(self, service: str) -> tuple[Slo, ...]:
        return self._slos_by_service.get(service, ())

    @property
    def service_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.services) | frozenset(s.service for s in self.slos)
