"""Which operations and regions the recent bad events came from, for an alert's diagnosis.

A ring of BUCKETS small dicts per SLO group, keyed by (operation, region) and holding [bad, total].
The ring spans the fastest alert rule's short window (the most recent picture an alert can show),
in BUCKETS - 1 buckets plus the one filling now. Bound: at most MAX_KEYS keys per bucket; further
combinations share one OTHER key, so a producer inventing operation names cannot grow memory:
per group at most BUCKETS x MAX_KEYS x 2 counters. Counting is one dict lookup per counted event.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from operator import attrgetter

from slawatch.core.ring import EMPTY_HEAD

BUCKETS = 6
MAX_KEYS = 32
TOP = 3
OTHER = "(other)"
NONE = "(none)"
_KEY = attrgetter("operation", "region")


class Contributors:
    __slots__ = ("resolution", "buckets", "head")

    def __init__(self, horizon_s: float) -> None:
        self.resolution = max(1, math.ceil(horizon_s / (BUCKETS - 1)))
        self.buckets: dict[int, dict[tuple, list[int]]] = {}
        self.head = EMPTY_HEAD

    def add(self, ts: float, bad: bool, operation: str | None, region: str | None) -> None:
        k = int(ts // self.resolution)
        bucket = self.buckets.get(k)
        if bucket is None:
            if k <= self.head - BUCKETS:
                return  # older than the ring: not recent any more
            bucket = self.buckets[k] = {}
            if k > self.head:
                self.head = k
                for old in [b for b in self.buckets if b <= k - BUCKETS]:
                    del self.buckets[old]
        counts = _counts_for(bucket, (operation, region))
        counts[0] += bad
        counts[1] += 1

    def head_span(self) -> tuple[float, float]:
        """[start, end): the event times that fall in the head bucket (empty before the first event)."""
        start = self.head * self.resolution
        return start, start + self.resolution

    def add_head_run(self, events: Sequence, bad: Sequence) -> None:
        """`add` for each of `events` (bad: those of them that are bad), all inside `head_span()`, in
        bulk: one count per (operation, region), keys taken in order of first appearance so the
        MAX_KEYS cap admits the same keys as adding them one by one."""
        if not events:
            return
        bucket = self.buckets[self.head]
        bad_by_key = Counter(map(_KEY, bad)) if bad else None
        for key, total in Counter(map(_KEY, events)).items():
            counts = _counts_for(bucket, key)
            if bad_by_key is not None:
                counts[0] += bad_by_key.get(key, 0)
            counts[1] += total

    def top(self, now: float, horizon_s: float) -> dict[str, list[dict]]:
        """Top TOP operations and regions by bad events in the buckets starting in [now - horizon, now)."""
        r = self.resolution
        first, last = -int(-(now - horizon_s) // r), -int(-now // r) - 1
        by: dict[str, dict[str, list[int]]] = {"operation": {}, "region": {}}
        for k, bucket in self.buckets.items():
            if first <= k <= last:
                for (operation, region), (bad, total) in bucket.items():
                    for name, value in (("operation", operation), ("region", region)):
                        slot = by[name].setdefault(value or NONE, [0, 0])
                        slot[0] += bad
                        slot[1] += total
        out = {}
        for name, values in by.items():
            ranked = sorted(((v, c) for v, c in values.items() if c[0]), key=lambda item: (-item[1][0], item[0]))
            if ranked:
                out[name] = [{"value": v, "bad": c[0], "total": c[1]} for v, c in ranked[:TOP]]
        return out

    def to_json(self) -> list:
        return [[k, [[op, region, *counts] for (op, region), counts in bucket.items()]]
                for k, bucket in sorted(self.buckets.items())]

    def load_json(self, items: list) -> None:
        self.buckets = {k: {(op, region): [bad, total] for op, region, bad, total in rows} for k, rows in items}
        self.head = max(self.buckets, default=EMPTY_HEAD)


def _counts_for(bucket: dict[tuple, list[int]], key: tuple) -> list[int]:
    """The [bad, total] cell of `key` in a bucket; the shared OTHER cell once the bucket has MAX_KEYS."""
    counts = bucket.get(key)
    if counts is None:
        if len(bucket) >= MAX_KEYS:
            key = (OTHER, OTHER)
            counts = bucket.get(key)
        if counts is None:
            counts = bucket[key] = [0, 0]
    return counts
