"""What leaves an SLO's fine ring level, kept: calendar period totals and timeslice verdicts.

`Finalizer` is the fine level's sink (`core.ring`): evicted buckets and events too late for the
level are added to the totals of their calendar period, and closed slices are judged once
(`SliceJudge`) into a coarse `SliceRollup`, so a month of 1-minute slices is ~750 coarse buckets
instead of 43,200 minute buckets, and a calendar period stays exact at its edges.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from itertools import compress, repeat

from slawatch.core.calendar import periods
from slawatch.core.model import CalendarWindow, Slo, SliKind
from slawatch.core.plan import slice_seconds
from slawatch.core.ring import BAD, EMPTY_HEAD, EXCLUDED, GOOD, BucketRing, Level, SliceRollup

class SliceJudge:
    """Turns one slice's (good, total) counts into its verdict, by the SLO's method and SLI.

    Timeslices: good when good / total >= timeslice target (the objective if none is given).
    Latency percentile: good when pNN <= threshold, decided exactly from counts: with the sketch's
    rank rule (sample floor(q (n - 1)) of n sorted), pNN <= T iff good >= floor(q (n - 1)) + 1."""

    __slots__ = ("q", "target")

    def __init__(self, slo: Slo) -> None:
        self.q = slo.sli.percentile / 100.0 if slo.sli.kind is SliKind.LATENCY_PERCENTILE else None
        target = slo.budgeting.timeslice_target
        self.target = target if target is not None else slo.objective

    def good(self, good: int, total: int) -> int:
        if self.q is not None:
            return int(good >= math.floor(self.q * (total - 1)) + 1)
        return int(good / total >= self.target)

    def columns(self, goods: list[int], bads: list[int]) -> tuple[int, int, float]:
        """(good slices, slices with data, ratio sum) over per-slice count columns; `map` and
        `compress` keep a day of 1-minute slices at C speed (the rule is `good` above)."""
        totals = list(map(operator.add, goods, bads))
        goods, totals = list(compress(goods, totals)), list(compress(totals, totals))
        ratios = list(map(operator.truediv, goods, totals))
        if self.q is not None:
            needed = map(operator.add, map(math.floor, map(self.q.__mul__, map((-1).__add__, totals))), repeat(1))
            good_slices = sum(map(operator.ge, goods, needed))
        else:
            good_slices = sum(map(self.target.__le__, ratios))
        return good_slices, len(totals), sum(ratios)


@dataclass(slots=True)
class PeriodTotals:
    """What one calendar period kept of what left the fine level: its events (good, bad, excluded)
    and its closed slices (good ones, all with data, the sum of their good ratios)."""

    good: int = 0
    bad: int = 0
    excluded: int = 0
    good_slices: int = 0
    slices: int = 0
    ratio_sum: float = 0.0

    def count(self, which: int, count: int) -> None:
        """Add `count` events to counter `which` (ring.GOOD, BAD or EXCLUDED)."""
        if which == GOOD:
            self.good += count
        elif which == BAD:
            self.bad += count
        else:
            self.excluded += count

    def add_slice(self, verdict: int, ratio: float) -> None:
        self.good_slices += verdict
        self.slices += 1
        self.ratio_sum += ratio

    def values(self) -> tuple:
        """The fields in order (the snapshot's layout)."""
        return self.good, self.bad, self.excluded, self.good_slices, self.slices, self.ratio_sum

    def copy(self) -> PeriodTotals:
        return PeriodTotals(*self.values())


NO_TOTALS = PeriodTotals()  # what a period without kept totals reads as (never written to)


class Finalizer:
    """The sink of the fine level: keeps what leaves it, so nothing counted is ever lost too early.

    - Calendar periods: each bucket leaving the fine level (and each event too late for it) is added
      to the totals of the period containing the bucket's start, per calendar window. The fine level
      is 10 s, 1 min or the slice length, and calendar edges fall on whole minutes, so a bucket never
      straddles an edge (a slice that does belongs to the period it starts in). A period's totals are
      kept while the period ends after the oldest instant the coarsest level retains.
    - Timeslices: each closed slice with data is judged once and added to `rollup`.
    """

    __slots__ = ("ring", "resolution", "calendars", "totals", "rollup", "judge", "slices", "judged", "judged_version")

    def __init__(self, ring: BucketRing, fine: int, slo: Slo, rollup: Level | None) -> None:
        self.ring = ring
        self.resolution = ring.levels[fine].resolution_s
        windows = dict.fromkeys(w for w in slo.windows if isinstance(w, CalendarWindow))
        self.calendars = tuple(periods(w) for w in windows)
        self.totals: dict[CalendarWindow, dict[int, PeriodTotals]] = {w: {} for w in windows}
        self.rollup = SliceRollup(rollup) if rollup is not None else None
        self.slices = slice_seconds(slo) is not None
        self.judge = SliceJudge(slo) if self.slices else None
        # (first, last) -> judge.columns of the slice level's closed slices first..last, while the
        # level's cold version is judged_version: judged again only once one changed (evaluate.judged_slices)
        self.judged: dict[tuple[int, int], tuple] = {}
        self.judged_version = -1
        ring.attach(fine, self)

    def period_totals(self, calendar, t: float) -> PeriodTotals:
        index = calendar.index_of(t)[0]
        by_index = self.totals[calendar.window]
        totals = by_index.get(index)
        if totals is None:
            totals = by_index[index] = PeriodTotals()
            self.prune()
        return totals

    def prune(self) -> None:
        """Forget periods that ended before the oldest instant the ring retains."""
        oldest = self.ring.oldest_instant()
        for calendar in self.calendars:
            by_index = self.totals[calendar.window]
            for index in [i for i in by_index if calendar.bounds_of_index(i)[1] <= oldest]:
                del by_index[index]

    def advancing(self, level, head: int) -> None:
        """The fine level is about to make `head` its head: keep the buckets it will evict."""
        rollup = self.rollup
        if rollup is not None:
            top = head * self.resolution // rollup.resolution
            if top > rollup.head:
                rollup.advance(top)
        if level.head == EMPTY_HEAD:
            return
        first, last = level.head - level.capacity + 1, min(level.head, head - level.capacity)
        if first > last:
            return
        self.close(level, first, last)

    def close(self, level, first: int, last: int) -> None:
        """Keep buckets first..last of `level` (a ring level at the slice length, or one whose
        buckets never straddle a calendar edge): each slice judged into the rollup and its periods,
        or each bucket's counts added to its periods. Called as they leave the fine level, and when
        a restored state hands over the fine buckets its new layout no longer keeps (`relayout`)."""
        rollup, r = self.rollup, level.resolution
        goods, bads = level.column(GOOD, first, last), level.column(BAD, first, last)
        if self.slices:
            judge = self.judge.good
            for bucket, good, bad in zip(range(first, last + 1), goods, bads):
                total = good + bad
                if total:
                    verdict, ratio = judge(good, total), good / total
                    rollup.add(bucket * r // rollup.resolution, verdict, ratio)
                    for calendar in self.calendars:
                        self.period_totals(calendar, bucket * r).add_slice(verdict, ratio)
            return
        excluded = level.column(EXCLUDED, first, last)
        for bucket, counts in zip(range(first, last + 1), zip(goods, bads, excluded)):
            if any(counts):
                for calendar in self.calendars:
                    totals = self.period_totals(calendar, bucket * r)
                    totals.good, totals.bad, totals.excluded = (
                        totals.good + counts[GOOD], totals.bad + counts[BAD], totals.excluded + counts[EXCLUDED])

    def late(self, bucket: int, which: int, count: int) -> None:
        """An event too late for the fine level (still kept by a coarser one): straight to its period."""
        for calendar in self.calendars:
            self.period_totals(calendar, bucket * self.resolution).count(which, count)
