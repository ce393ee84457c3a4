"""A bare Faust worker for the benchmark's floors (b) and (b2); run by bench/run_bench.py.

    BENCH_BROKER=127.0.0.1:PORT BENCH_MODE=count|events BENCH_EXPECT=N BENCH_OUT=result.json \
        python bench/faust_bare.py worker -l warn

`count`: the agent only counts records (Faust's per-record cost and nothing else).
`events`: the agent decodes each record (a JSON array of events) with orjson and counts its events.
Both use the same Faust settings as the slawatch worker where they matter (at-least-once, raw
values, topic_disable_leader, 10 s session/rebalance timeouts for the embedded broker); web is off.
When the expected count is reached the agent writes the time from the first to the last record
processed (perf_counter, inside this process) to BENCH_OUT, with the records and events processed
after the first one (the ones that interval holds); the harness then stops the worker.
"""

from __future__ import annotations

import os
import time

import faust
import orjson

BROKER = os.environ["BENCH_BROKER"]
MODE = os.environ.get("BENCH_MODE", "count")
EXPECT = int(os.environ["BENCH_EXPECT"])
OUT = os.environ["BENCH_OUT"]
TOPIC = os.environ.get("BENCH_TOPIC", "sla.events")

app = faust.App(
    f"bench-bare-{MODE}",
    broker=f"kafka://{BROKER}",
    broker_session_timeout=10,
    broker_rebalance_timeout=10,
    broker_heartbeat_interval=3,
    processing_guarantee="at_least_once",
    topic_disable_leader=True,
    web_enabled=False,
    store="memory://",
    datadir=os.environ.get("BENCH_DATADIR", "/tmp/slawatch-bench-faust"),
)
topic = app.topic(TOPIC, key_type=bytes, value_type=bytes, value_serializer="raw")
state = {"records": 0, "events": 0, "first": None, "first_events": 0}


def _finish() -> None:
    last = time.perf_counter()
    with open(OUT + ".tmp", "wb") as fh:
        fh.write(orjson.dumps({"mode": MODE, "records": state["records"], "events": state["events"],
                               "timed_records": state["records"] - 1,
                               "timed_events": state["events"] - state["first_events"],
                               "seconds": last - state["first"]}))
    os.replace(OUT + ".tmp", OUT)


if MODE == "count":
    @app.agent(topic)
    async def count(stream):
        async for _value in stream:
            if state["first"] is None:
                state["first"] = time.perf_counter()
            state["records"] += 1
            if state["records"] == EXPECT:
                state["events"], state["first_events"] = state["records"], 1
                _finish()
else:
    @app.agent(topic)
    async def count_events(stream):
        async for value in stream:
            if state["first"] is None:
                state["first"] = time.perf_counter()
            state["records"] += 1
            state["events"] += len(orjson.loads(value))
            if state["records"] == 1:
                state["first_events"] = state["events"]
            if state["records"] == EXPECT:
                _finish()


if __name__ == "__main__":
    app.main()
