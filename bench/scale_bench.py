"""(scale) Scale-out: one worker, then two in one consumer group, on the same records (issue 12, item 5).

Each group gets its own broker (the group and changelog names are fixed, see run_bench.py), the
one-worker group on the broker run_bench hands over, the two-worker group on a fresh one. Both are
timed the same way (bench_worker.run_group_throughput), so the ratio two/one compares like with
like. On 2 cores the workers and the broker share the cores: the CPU shares say how much each got.
docs/architecture.md ("Scaling: partitions, workers and SLOs") gives the formulas and the figures.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from bench_worker import run_group_throughput
from harness import PARTITIONS, Children
from report import _row
from slawatch.ingest.router import home_partition


def run(children: Children, address: str, catalog: Path, work: Path, events: list[tuple[str, bytes]]) -> dict:
    """`events` are (service, value) records, not yet produced; `address` is a broker with the topics
    and nothing on sla.events. events/s of one and of two workers, their ratio, and per worker its
    partitions, CPU share and events counted; `exactly_once` when the counts sum to what was produced."""
    total = events_in(events)
    one = run_group_throughput(children, address, catalog, work, events, total, "scale-1", workers=1)
    broker = children.broker(work / "broker-scale-2.log")
    try:
        two = run_group_throughput(children, broker.address, catalog, work, events, total, "scale-2", workers=2)
    finally:
        children.stop_broker(broker)
    shares = partition_shares(events)
    return {
        "one": one,
        "two": two,
        "ratio_two_over_one": _ratio(two["events_per_s"], one["events_per_s"]),
        "events_per_partition": {str(p): n for p, n in shares.items()},
        # the most two workers can gain on these records: all events / the busier worker's events
        "balance_bound": _ratio(total, max(sum(shares[p] for p in w["partitions"]) for w in two["per_worker"])),
        "exactly_once": one["exactly_once"] and two["exactly_once"],
    }


def events_in(records: list[tuple[str, bytes]]) -> int:
    """Events in the records: a JSON array counts its elements, an object counts one."""
    return sum(len(doc) if isinstance(doc := orjson.loads(value), list) else 1 for _, value in records)


def partition_shares(records: list[tuple[str, bytes]]) -> dict[int, int]:
    """Events per sla.events partition, each record on its service's home partition (harness.produce)."""
    shares = dict.fromkeys(range(PARTITIONS), 0)
    for service, value in records:
        shares[home_partition(service, PARTITIONS)] += events_in([(service, value)])
    return shares


def _ratio(num, den):
    return None if num is None or not den else round(num / den, 2)


def table_lines(result: dict) -> list[str]:
    """The (scale) rows of the printed table: per group its rate and CPU, then one row per worker."""
    if "error" in result:
        return [_row("(scale) 1 vs 2 workers, one group", "-", result["error"])]
    lines = []
    for key, label in (("one", "(scale) 1 worker, 4 partitions"), ("two", "(scale) 2 workers, one group")):
        group, log = result[key], result[key]["changelog"]
        lines.append(_row(label, f"{group['events_per_s']:,.0f} events/s",
                          f"{group['worker_cpu_us_per_event']} worker CPU-us/event; broker CPU {group['broker_cpu_share']}; "
                          f"machine {group['machine_cpu_busy']} of {group['cores']} cores busy (all processes)"))
        for w in group["per_worker"]:
            lines.append(_row(f"    partitions {','.join(map(str, w['partitions']))}", f"{w['events_counted']:,} events",
                              f"in {w['busy_s']} s of the {group['seconds']} s; CPU {w['cpu_share']}; "
                              f"{w['batches']:,} batches; RSS {w['rss_mib']} MiB"))
        lines.append(_row("    changelog", f"{log['bytes_per_event']:,} bytes/event",
                          f"{log['checkpoints']:,} checkpoints of {log['bytes_per_checkpoint']:,} bytes "
                          f"({log['checkpoints_per_event']} per event)"))
    shares = ", ".join(f"p{p} {n:,}" for p, n in result["events_per_partition"].items())
    lines.append(_row("(scale) two / one", f"{result['ratio_two_over_one']}",
                      f"the busier worker's share bounds it at {result['balance_bound']} (events {shares})"))
    counted = result["one"]["events_counted"], result["two"]["events_counted"]
    lines.append(_row("(scale) every event counted once", "yes" if result["exactly_once"] else "NO",
                      f"{counted[0]:,} (1 worker), {counted[1]:,} (2 workers) of {result['one']['events']:,}"))
    return lines


def main(argv: list[str] | None = None) -> int:
    """Standalone: `python bench/scale_bench.py [--records N] [--per-record K]` on the bench catalogue."""
    import argparse
    import shutil
    import tempfile

    import gen_catalog
    import harness

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--per-record", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="slawatch-scale-"))
    children = Children()
    try:
        names = harness.services(10)
        catalog = gen_catalog.throughput_catalog(work / "catalog" / "bench.yaml", names)
        records = (harness.single_records(args.records, names) if args.per_record == 1
                   else harness.batch_records(args.records, names, per_record=args.per_record))
        broker = children.broker(work / "broker-scale-1.log")
        result = run(children, broker.address, catalog, work, records)
    finally:
        children.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(table_lines(result)))
    if args.out:
        args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
