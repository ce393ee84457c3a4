"""`slawatch` command line: run, worker, broker, topics, demo, tail, catalog.

Each verb builds the one Settings object from flags and environment and hands it down.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

from slawatch import logs
from slawatch.settings import Settings, add_arguments, build_settings

log = logging.getLogger("slawatch")


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `slawatch ... | head` ends quietly
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = build_settings(args)
    except ValueError as exc:
        parser.error(str(exc))
    logs.configure(settings.log_level, settings.log_json)
    return args.func(args, settings) or 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slawatch", description="SLA breach detection on Kafka event streams")
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND")

    def verb(name: str, func, help: str, connection: bool = True) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=help, description=help)
        if connection:
            add_arguments(p)
        p.set_defaults(func=func)
        return p

    run = verb("run", cmd_run, "broker (embedded unless --broker) + topics + worker + demo traffic, until Ctrl-C")
    run.add_argument("--no-demo", action="store_true", help="do not start the demo traffic generator")
    run.add_argument("--rate", type=float, default=60.0, help="demo events per second per service (default 60)")
    verb("worker", cmd_worker, "run one slawatch worker against --broker")
    verb("broker", cmd_broker, "run the embedded broker alone in the foreground")
    topics = verbs.add_parser("topics", help="topics as code").add_subparsers(title="topics commands", metavar="COMMAND")
    apply = topics.add_parser("apply", help="create missing topics from topics/*.yaml and report drift")
    add_arguments(apply)
    apply.add_argument("--check", action="store_true", help="exit 3 when an existing topic drifted from its spec")
    apply.set_defaults(func=cmd_topics_apply)
    demo = verb("demo", cmd_demo, "send demo traffic to sla.events")
    demo.add_argument("--rate", type=float, default=60.0, help="events per second per service (default 60)")
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.add_argument("--no-backfill", action="store_true", help="skip the day of search history sent first")
    tail = verb("tail", cmd_tail, "print a topic's records as they arrive (JSON lines)")
    tail.add_argument("topic", help="e.g. sla.deadletter")
    tail.add_argument("--from-beginning", action="store_true")
    alerts = verbs.add_parser("alerts", help="early warnings and breaches").add_subparsers(title="alerts commands", metavar="COMMAND")
    alerts_tail = alerts.add_parser("tail", help="follow sla.warnings and sla.breaches, one line per alert change")
    add_arguments(alerts_tail)
    alerts_tail.add_argument("--from-beginning", action="store_true")
    alerts_tail.add_argument("--json", action="store_true", help="print the payloads as they are")
    alerts_tail.set_defaults(func=cmd_alerts_tail)
    verb("status", cmd_status, "the latest status of every SLO (from the compacted sla.status topic)")
    replay = verb("replay", cmd_replay, "run the engine and policies over a JSONL file, no broker; prints alerts", connection=False)
    replay.add_argument("--catalog", action="append", required=True, help="catalogue file or folder, repeatable")
    replay.add_argument("events", help="JSON lines: one event or an array of events per line")
    replay.add_argument("--decision-step", type=float, help="seconds of event time between decisions (default: the worker's, 0.1)")
    catalog = verbs.add_parser("catalog", help="the service catalogue").add_subparsers(title="catalog commands", metavar="COMMAND")
    validate = catalog.add_parser("validate", help="check catalogue files; errors name file, line and field")
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.set_defaults(func=cmd_catalog_validate)
    return parser


def _require_broker(settings: Settings) -> Settings:
    if settings.embedded:
        sys.exit("slawatch: no broker given. Pass --broker HOST:PORT (or SLAWATCH_BROKER), "
                 "or use `slawatch run`, which starts an embedded one.")
    return settings


def cmd_broker(args, settings: Settings) -> int:
    from slawatch.broker import EmbeddedBroker

    broker = EmbeddedBroker(port=settings.broker_port).start()
    print(f"embedded broker ready on {broker.address} (pid {broker.process.pid}); Ctrl-C stops it", flush=True)
    try:
        _wait_for_signal(lambda: broker.process is not None and broker.process.poll() is None)
    finally:
        broker.stop()
    return 0


def cmd_topics_apply(args, settings: Settings) -> int:
    from slawatch.topics import apply_topics, load_specs

    report = apply_topics(load_specs(settings.topics_dir), _require_broker(settings).bootstrap_servers,
                          settings.security.kafka_python_kwargs())
    print("\n".join(report.lines()))
    return 3 if (args.check and report.drift) else 0


def cmd_worker(args, settings: Settings) -> int:
    from faust import Worker as FaustWorker

    from slawatch.conventions import TOPIC_EVENTS
    from slawatch.stream.app import create_app
    from slawatch.topics import apply_topics, load_specs

    _require_broker(settings)
    catalog = _load_catalog(settings)
    report = apply_topics(load_specs(settings.topics_dir), settings.bootstrap_servers, settings.security.kafka_python_kwargs())
    for line in report.lines():
        log.info("topics: %s", line)
    partitions = _partition_count(settings, TOPIC_EVENTS)
    worker = create_app(settings, catalog, partitions)
    log.info("worker starting", extra={"broker": settings.broker, "partitions": partitions,
                                       "metrics": f"http://{settings.web_host}:{settings.web_port}/metrics"})
    FaustWorker(worker.app, loglevel=settings.log_level, redirect_stdouts=False,
                logging_config=logs.logging_config(settings.log_level, settings.log_json)).execute_from_commandline()
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from slawatch.demo import run_demo

    sent = run_demo(_require_broker(settings).bootstrap_servers, rate=args.rate, duration_s=args.duration,
                    backfill=not args.no_backfill, security_kwargs=settings.security.kafka_python_kwargs())
    log.info("demo stopped", extra={"events_sent": sent})
    return 0


def cmd_tail(args, settings: Settings) -> int:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(args.topic, bootstrap_servers=_require_broker(settings).bootstrap_servers,
                             auto_offset_reset="earliest" if args.from_beginning else "latest",
                             enable_auto_commit=False, **settings.security.kafka_python_kwargs())
    try:
        for record in consumer:
            print(record.value.decode("utf-8", "replace"), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


def cmd_alerts_tail(args, settings: Settings) -> int:
    import orjson
    from kafka import KafkaConsumer

    from slawatch.conventions import TOPIC_BREACHES, TOPIC_WARNINGS
    from slawatch.views import alert_line

    consumer = KafkaConsumer(TOPIC_WARNINGS, TOPIC_BREACHES, bootstrap_servers=_require_broker(settings).bootstrap_servers,
                             auto_offset_reset="earliest" if args.from_beginning else "latest",
                             enable_auto_commit=False, **settings.security.kafka_python_kwargs())
    try:
        for record in consumer:
            payload = orjson.loads(record.value)
            update = b":update:" in dict(record.headers or []).get("ce_id", b"")
            print(record.value.decode() if args.json else alert_line(payload, update), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


def cmd_status(args, settings: Settings) -> int:
    import orjson
    from kafka import KafkaConsumer, TopicPartition

    from slawatch.conventions import TOPIC_STATUS
    from slawatch.views import status_table

    consumer = KafkaConsumer(bootstrap_servers=_require_broker(settings).bootstrap_servers, enable_auto_commit=False,
                             **settings.security.kafka_python_kwargs())
    try:
        partitions = [TopicPartition(TOPIC_STATUS, p) for p in consumer.partitions_for_topic(TOPIC_STATUS) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        latest: dict[bytes, dict] = {}
        deadline = time.monotonic() + 10
        # Read until a poll comes back empty: end offsets from ListOffsets are not trusted here
        # (the embedded broker's LATEST is short by up to one batch).
        while time.monotonic() < deadline:
            batches = consumer.poll(timeout_ms=800)
            if not batches:
                break
            for batch in batches.values():
                for record in batch:
                    latest[record.key] = orjson.loads(record.value)
    finally:
        consumer.close()
    print(status_table(list(latest.values())) if latest else "no SLO status yet (is a worker running?)")
    return 0


def cmd_replay(args, settings: Settings) -> int:
    from slawatch.replay import run_replay

    return run_replay(args.catalog, args.events, sys.stdout, step_s=args.decision_step)


def cmd_catalog_validate(args, settings: Settings) -> int:
    from slawatch.catalog.validate_cli import run_validate

    return run_validate(args.paths)


def _load_catalog(settings: Settings):
    from slawatch.catalog import CatalogError, load_catalog
    from slawatch.core.model import Catalog

    if not settings.catalog_paths:
        log.warning("no catalogue given (--catalog): no SLO is evaluated and every service is counted as unknown")
        return Catalog((), ())
    try:
        return load_catalog(settings.catalog_paths)
    except CatalogError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        sys.exit(f"slawatch: the catalogue has {len(exc.problems)} problem(s); the worker does not start")


def _partition_count(settings: Settings, topic: str) -> int:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **settings.security.kafka_python_kwargs())
    try:
        return len(admin.describe_topics([topic])[0]["partitions"])
    finally:
        admin.close()


def _wait_for_signal(alive) -> None:
    """Sleep until SIGINT/SIGTERM or until `alive()` turns false."""
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    while not stop and alive():
        time.sleep(0.2)


def cmd_run(args, settings: Settings) -> int:
    from slawatch.broker import EmbeddedBroker
    from slawatch.broker.embedded import die_with_parent
    from slawatch.settings import EMBEDDED_SESSION_TIMEOUT_S
    from slawatch.topics import apply_topics, load_specs

    run_dir = settings.data_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    broker = None
    if settings.embedded:
        broker = EmbeddedBroker(port=settings.broker_port, log_path=run_dir / "broker.log").start()
        settings = settings.with_broker(broker.address)
    children: list[subprocess.Popen] = []
    try:
        report = apply_topics(load_specs(settings.topics_dir), settings.bootstrap_servers, settings.security.kafka_python_kwargs())
        catalog = list(settings.catalog_paths) or [str(p) for p in _demo_catalog()]
        common = ["--broker", settings.broker, "--web-host", settings.web_host, "--web-port", str(settings.web_port),
                  "--data-dir", str(run_dir), "--log-level", settings.log_level]
        if broker:  # the worker sees a plain address; tell it the broker is Tansu-like (see settings)
            common += ["--session-timeout", str(EMBEDDED_SESSION_TIMEOUT_S)]
        worker_cmd = [sys.executable, "-m", "slawatch", "worker", *common, *sum((["--catalog", c] for c in catalog), [])]
        children.append(subprocess.Popen(worker_cmd, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL))
        if not args.no_demo:
            demo_cmd = [sys.executable, "-m", "slawatch", "demo", "--broker", settings.broker, "--rate", str(args.rate)]
            children.append(subprocess.Popen(demo_cmd, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL))
        _banner(settings, broker, report, catalog)
        _wait_for_signal(lambda: all(c.poll() is None for c in children))
        failed = [c for c in children if c.poll() not in (None, 0)]
        return 1 if failed else 0
    finally:
        print("\nslawatch: stopping ...", file=sys.stderr, flush=True)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if broker:
            broker.stop()
        print("slawatch: stopped; nothing left running", file=sys.stderr, flush=True)


def _demo_catalog() -> list[Path]:
    path = Path(__file__).resolve().parents[2] / "examples" / "catalog" / "demo.yaml"
    return [path] if path.exists() else []


def _banner(settings: Settings, broker, report, catalog: list[str]) -> None:
    from slawatch.conventions import TOPIC_DEADLETTER, TOPIC_EVENTS

    web = f"http://{settings.web_host}:{settings.web_port}"
    where = f"embedded Tansu on {broker.address}" if broker else settings.broker
    print(f"""
slawatch is running  (Ctrl-C stops everything)
  broker     {where}
  topics     {len(report.created)} created, {len(report.unchanged)} already there, {len(report.drift)} drifted
  catalogue  {', '.join(catalog) or '(none)'}
  metrics    {web}/metrics      health  {web}/healthz
  alerts     .venv/bin/slawatch alerts tail --from-beginning --broker {settings.broker}
  status     .venv/bin/slawatch status --broker {settings.broker}
  follow     .venv/bin/slawatch tail {TOPIC_DEADLETTER} --broker {settings.broker}
  watch      watch -n2 "curl -s {web}/metrics | grep ^slawatch_events"
""", flush=True)
