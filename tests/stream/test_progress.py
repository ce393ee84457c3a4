"""The worker's own resume positions: the offset tracker's rules against a brute-force reference."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slawatch.stream.progress import Admit, Gap, OffsetTracker, Progress, record_crc


def deliveries():
    """A partition's log 0..n-1 delivered with redeliveries: each step goes back up to 5 offsets
    (a crash or rebalance) or forward by one."""
    return st.lists(st.integers(min_value=-5, max_value=1), min_size=1, max_size=60).map(_walk)


def _walk(steps: list[int]) -> list[int]:
    offsets, at = [], 0
    for step in steps:
        at = max(0, at + step) if step < 1 else at + 1
        offsets.append(at)
    return offsets


@given(deliveries())
def test_every_offset_is_taken_once_and_in_order_whatever_is_redelivered(offsets):
    tracker = OffsetTracker()
    tracker.start(0, 0)
    taken = []
    for offset in offsets:
        if tracker.gaps([(0, offset)]):
            continue  # a jump forward past the expected offset is not a redelivery; see the gap tests
        verdict = tracker.admit(0, offset)
        if verdict is Admit.TAKE:
            taken.append(offset)
        else:
            assert verdict is Admit.APPLIED and offset in taken
    assert taken == list(range(len(taken)))
    assert tracker.expected(0) == len(taken)


def test_a_partition_without_progress_takes_its_first_record_whatever_its_offset():
    tracker = OffsetTracker()
    assert tracker.admit(3, 1_000) is Admit.TAKE
    assert tracker.admit(3, 1_001) is Admit.TAKE
    assert tracker.admit(3, 999) is Admit.APPLIED


def test_gaps_are_found_before_admitting_and_change_nothing():
    tracker = OffsetTracker()
    tracker.start(0, 10)
    tracker.start(1, 5)
    positions = [(0, 10), (1, 5), (0, 11), (0, 14), (1, 6), (0, 15), (0, 20)]
    assert tracker.gaps(positions) == [Gap(0, 12, 14), Gap(0, 16, 20)]
    assert tracker.expected(0) == 10 and tracker.expected(1) == 5


def test_a_gap_not_resolved_first_is_reported_by_admit():
    tracker = OffsetTracker()
    tracker.start(0, 10)
    assert tracker.admit(0, 12) is Admit.GAP
    assert tracker.expected(0) == 10, "a gap must not move the expected offset past the missing records"


def test_offsets_absent_from_the_log_are_skipped_once_looked_up():
    tracker = OffsetTracker()
    tracker.start(0, 10)
    tracker.skip(Gap(0, 10, 14))
    assert tracker.gaps([(0, 14)]) == []
    assert tracker.admit(0, 14) is Admit.TAKE


def test_records_before_an_absent_run_in_the_same_batch_are_taken():
    # A broker restart left offsets 78..79 allocated and never written; the first batch after it held
    # 74..77 too. Skipping moved the expected offset to 80 at once, and 74..77 were dropped as applied.
    tracker = OffsetTracker()
    tracker.start(0, 74)
    batch = [(0, offset) for offset in (74, 75, 76, 77, 80, 81)]
    for gap in tracker.gaps(batch):
        tracker.skip(gap)
    assert [tracker.admit(0, offset) for _, offset in batch] == [Admit.TAKE] * 6
    assert tracker.expected(0) == 82


def logs_with_absent_runs():
    """The offsets a partition's log holds: runs of records with runs of absent offsets in between."""
    runs = st.lists(st.tuples(st.integers(min_value=1, max_value=6), st.integers(min_value=0, max_value=3)),
                    min_size=1, max_size=12)
    return runs.map(_present_offsets)


def _present_offsets(runs: list[tuple[int, int]]) -> list[int]:
    present, at = [], 0
    for held, absent in runs:
        present += range(at, at + held)
        at += held + absent
    return present


@given(logs_with_absent_runs(), deliveries(), st.lists(st.integers(min_value=1, max_value=8), min_size=1))
def test_every_record_the_log_holds_is_taken_once_whatever_the_batches_and_absent_offsets(present, walk, sizes):
    """As the worker does it: per batch, look up its gaps (all absent here), skip them, admit each record."""
    delivered = [present[min(i, len(present) - 1)] for i in [0] + walk]  # the walk steps over records, not offsets
    batches, at = [], 0
    while at < len(delivered):
        size = sizes[len(batches) % len(sizes)]
        batches.append([(0, offset) for offset in delivered[at:at + size]])
        at += size
    tracker = OffsetTracker()
    tracker.start(0, 0)
    taken = []
    for batch in batches:
        for gap in tracker.gaps(batch):
            assert not set(range(gap.expected, gap.seen)) & set(present), "a gap over records the log holds"
            tracker.skip(gap)
        for _, offset in batch:
            verdict = tracker.admit(0, offset)
            assert verdict is not Admit.GAP
            if verdict is Admit.TAKE:
                taken.append(offset)
    assert taken == present[:len(taken)] and taken[-1] == max(delivered)


def test_a_reassigned_partition_resumes_where_its_progress_says():
    tracker = OffsetTracker()
    tracker.start(0, 0)
    for offset in range(5):
        tracker.admit(0, offset)
    tracker.forget(0)
    tracker.start(0, 3)  # the durable progress was behind what this process had taken
    assert [tracker.admit(0, o) for o in (3, 4, 5)] == [Admit.TAKE, Admit.TAKE, Admit.TAKE]


@given(st.integers(min_value=0, max_value=2**62), st.integers(min_value=0, max_value=2**32 - 1),
       st.none() | st.integers(min_value=0, max_value=2**45))
def test_progress_round_trips(offset, crc, timestamp_ms):
    progress = Progress(offset, crc, timestamp_ms)
    assert Progress.from_bytes(progress.to_bytes()) == progress


def test_the_record_crc_tells_records_apart_by_key_and_value():
    assert record_crc(b"k", b"v") == record_crc(b"k", b"v")
    assert len({record_crc(b"k", b"v"), record_crc(b"k", b"w"), record_crc(b"j", b"v"), record_crc(None, b"v")}) == 4
