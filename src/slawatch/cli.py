"""`slawatch` command line: run, worker, broker, topics, demo, tail, alerts, status, report, replay, catalog.

Each verb builds the one Settings object from flags and environment and hands it down. A problem the
person at the terminal can fix (a bad flag, a missing file, a broker that does not answer) is said
in one line on stderr, `slawatch VERB: what is wrong`, with a non-zero exit, never a traceback:
argparse errors by `_Parser`, the rest by `main` through `cli_checks.problem_line`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from slawatch import logs
from slawatch.children import Child, start_child, stop_child
from slawatch.cli_checks import (CliError, catalog_from, data_dir, existing_paths, free_web_port, positive_number,
                                 problem_line, reachable_broker, readable_file, require_topic)
from slawatch.notify import command as notify_alertmanager
from slawatch.settings import Settings, add_arguments, build_settings
from slawatch.report import command as report_command
from slawatch.ui import command as status_page

log = logging.getLogger("slawatch")

# `slawatch run` stops demo, worker, broker in turn; each grace is SIGTERM -> SIGKILL, all within 5 s.
# Measured: the demo stops in < 0.1 s, the worker in ~1.4 s, the broker in < 0.1 s.
DEMO_GRACE_S = 0.8
WORKER_GRACE_S = 3.0
BROKER_GRACE_S = 0.8


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the verb, not the whole usage text."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `slawatch ... | head` ends quietly
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    verb_parser = getattr(args, "verb_parser", parser)
    if unknown:  # said by the verb's parser, so the line names the verb
        verb_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = build_settings(args)
    except ValueError as exc:
        verb_parser.error(str(exc))
    logs.configure(settings.log_level, settings.log_json)
    try:
        return args.func(args, settings) or 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        problem = problem_line(exc)
        if problem is None:
            raise  # a bug: its traceback is what a report needs
        print(f"{verb_parser.prog}: {problem}", file=sys.stderr, flush=True)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="slawatch", description="SLA breach detection on Kafka event streams")
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND")

    def group(name: str, help: str):
        return verbs.add_parser(name, help=help).add_subparsers(title=f"{name} commands", metavar="COMMAND", required=True)

    def verb(under, name: str, func, help: str, connection: bool = True) -> argparse.ArgumentParser:
        p = under.add_parser(name, help=help, description=help)
        if connection:
            add_arguments(p)
        p.set_defaults(func=func, verb_parser=p)
        return p

    run = verb(verbs, "run", cmd_run, "broker (embedded unless --broker) + topics + worker + demo traffic, until Ctrl-C")
    run.add_argument("--no-demo", action="store_true", help="do not start the demo traffic generator")
    run.add_argument("--rate", type=positive_number, default=60.0, help="demo events per second per service (default 60)")
    status_page.add_arguments(run)
    notify_alertmanager.add_run_arguments(run)
    verb(verbs, "worker", cmd_worker, "run one slawatch worker against --broker")
    verb(verbs, "broker", cmd_broker, "run the embedded broker alone in the foreground")
    apply = verb(group("topics", "topics as code"), "apply", cmd_topics_apply,
                 "create missing topics from topics/*.yaml and report drift")
    apply.add_argument("--check", action="store_true", help="exit 3 when an existing topic drifted from its spec")
    demo = verb(verbs, "demo", cmd_demo, "send demo traffic to sla.events")
    demo.add_argument("--rate", type=positive_number, default=60.0, help="events per second per service (default 60)")
    demo.add_argument("--duration", type=positive_number, help="stop after this many seconds")
    demo.add_argument("--no-backfill", action="store_true", help="skip the day of search history sent first")
    tail = verb(verbs, "tail", cmd_tail, "print a topic's records as they arrive (JSON lines)")
    tail.add_argument("topic", help="e.g. sla.deadletter")
    tail.add_argument("--from-beginning", action="store_true")
    alerts_tail = verb(group("alerts", "early warnings and breaches"), "tail", cmd_alerts_tail,
                       "follow sla.warnings and sla.breaches, one line per alert change")
    alerts_tail.add_argument("--from-beginning", action="store_true")
    alerts_tail.add_argument("--json", action="store_true", help="print the payloads as they are")
    verb(verbs, "status", cmd_status, "the latest status of every SLO (from the compacted sla.status topic)")
    notify_alertmanager.add_arguments(verb(group("notify", "deliver alerts to people"), "alertmanager",
                                           cmd_notify_alertmanager, "post sla.warnings and sla.breaches to "
                                           "Alertmanager (API v2), re-sending firing alerts every minute"))
    status_page.add_arguments(verb(verbs, "ui", cmd_ui, "serve the status page (HTML from sla.status) on 127.0.0.1"))
    report_command.add_arguments(verb(verbs, "report", cmd_report, "the compliance report of a period (HTML, JSON or "
                                      "Markdown) from sla.records, or from --events with the replay engine"))
    replay = verb(verbs, "replay", cmd_replay, "run the engine and policies over a JSONL file, no broker; prints alerts",
                  connection=False)
    replay.add_argument("--catalog", action="append", required=True, help="catalogue file or folder, repeatable")
    replay.add_argument("events", help="JSON lines: one event or an array of events per line")
    replay.add_argument("--decision-step", type=positive_number,
                        help="seconds of event time between decisions (default: the worker's, 0.1)")
    replay.add_argument("--summary", action="store_true", help="after the alerts, one JSON line per SLO and group: "
                        "exact counts, SLI, error budget and burn rate of every window")
    replay.add_argument("--at", type=_instant, metavar="TIME", help="event time of the summary: epoch seconds or "
                        "RFC 3339 (default: the file's last event time)")
    catalog = group("catalog", "the service catalogue")
    validate = verb(catalog, "validate", cmd_catalog_validate,
                    "check catalogue files; errors name file, line and field", connection=False)
    validate.add_argument("paths", nargs="+", metavar="PATH")
    sloth = verb(catalog, "import-sloth", cmd_catalog_import_sloth, "write the native catalogue of a Sloth "
                 "prometheus/v1 spec (its PromQL SLIs become event matches, a note per SLO)", connection=False)
    sloth.add_argument("spec", metavar="SPEC.yaml")
    sloth.add_argument("--match", action="append", default=[], type=_match_filter, metavar="KEY=VALUE",
                       help="events each SLO counts: service=NAME (default: the spec's service), operation=, "
                            "region=, attributes.NAME=; repeatable")
    sloth.add_argument("-o", "--output", metavar="OUT.yaml", help="write the catalogue here (default: stdout)")
    return parser


def cmd_broker(args, settings: Settings) -> int:
    from slawatch.broker import EmbeddedBroker

    if not settings.embedded:
        raise CliError(f"--broker {settings.broker} names a broker to use; this command starts one "
                       "(choose its port with --broker-port)")
    broker = EmbeddedBroker(port=settings.broker_port).start()
    print(f"embedded broker ready on {broker.address} (pid {broker.process.pid}); Ctrl-C stops it", flush=True)
    try:
        _wait_for_signal(lambda: broker.process is not None and broker.process.poll() is None)
    finally:
        broker.stop()
    return 0


def cmd_topics_apply(args, settings: Settings) -> int:
    from slawatch.topics import apply_topics, load_specs

    specs = load_specs(settings.topics_dir)
    report = apply_topics(specs, reachable_broker(settings).bootstrap_servers, settings.security.kafka_python_kwargs())
    print("\n".join(report.lines()))
    return 3 if (args.check and report.drift) else 0


def cmd_worker(args, settings: Settings) -> int:
    from slawatch.conventions import TOPIC_EVENTS
    from slawatch.topics import apply_topics, load_specs

    data_dir(settings.data_dir)
    free_web_port(settings)
    specs = load_specs(settings.topics_dir)
    catalog = catalog_from(settings.catalog_paths)
    report = apply_topics(specs, reachable_broker(settings).bootstrap_servers, settings.security.kafka_python_kwargs())
    from slawatch.stream.app import Worker  # Faust takes a second to import: only once all is well
    if not settings.catalog_paths:
        log.warning("no catalogue given (--catalog): no SLO is evaluated and every service is counted as unknown")
    for line in report.lines():
        log.info("topics: %s", line)
    partitions = _partition_count(settings, TOPIC_EVENTS)
    worker = Worker(settings, catalog, partitions)
    log.info("worker starting", extra={"broker": settings.broker, "partitions": partitions,
                                       "metrics": f"http://{settings.web_host}:{settings.web_port}/metrics"})
    faust_worker = _worker_class()(worker.app, loglevel=settings.log_level, redirect_stdouts=False,
                                   logging_config=logs.logging_config(settings.log_level, settings.log_json))
    faust_worker.execute_from_commandline()
    return 0


def _worker_class():
    """Faust's worker, less mode's idle second after everything has stopped.

    mode ends every worker with a one-second sleep (its "sentinel task") once all services have
    stopped and the offsets are committed; a tenth of a second lets the loop's last callbacks run
    just the same, and keeps Ctrl-C on `slawatch run` under its 5 s."""
    import asyncio

    from faust import Worker

    class QuickExitWorker(Worker):
        async def _sentinel_task(self) -> None:
            await asyncio.sleep(0.1)

    return QuickExitWorker


def cmd_demo(args, settings: Settings) -> int:
    from slawatch.demo import run_demo

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it as Ctrl-C does: sends flushed
    sent = run_demo(reachable_broker(settings).bootstrap_servers, rate=args.rate, duration_s=args.duration,
                    backfill=not args.no_backfill, security_kwargs=settings.security.kafka_python_kwargs())
    log.info("demo stopped", extra={"events_sent": sent})
    return 0


def cmd_tail(args, settings: Settings) -> int:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=reachable_broker(settings).bootstrap_servers,
                             auto_offset_reset="earliest" if args.from_beginning else "latest",
                             enable_auto_commit=False, **settings.security.kafka_python_kwargs())
    try:
        require_topic(consumer, args.topic, settings.broker)
        consumer.subscribe([args.topic])
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

    consumer = KafkaConsumer(TOPIC_WARNINGS, TOPIC_BREACHES, bootstrap_servers=reachable_broker(settings).bootstrap_servers,
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

    consumer = KafkaConsumer(bootstrap_servers=reachable_broker(settings).bootstrap_servers, enable_auto_commit=False,
                             **settings.security.kafka_python_kwargs())
    latest: dict[bytes, dict] = {}
    try:
        partitions = [TopicPartition(TOPIC_STATUS, p) for p in consumer.partitions_for_topic(TOPIC_STATUS) or ()]
        if partitions:
            consumer.assign(partitions)
            consumer.seek_to_beginning()
        deadline = time.monotonic() + 10
        # Read until a poll comes back empty: end offsets from ListOffsets are not trusted here
        # (the embedded broker's LATEST is short by up to one batch).
        while partitions and time.monotonic() < deadline:
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


def cmd_notify_alertmanager(args, settings: Settings) -> int:
    return notify_alertmanager.run(args, settings)


def cmd_ui(args, settings: Settings) -> int:
    return status_page.run(args, settings)


def cmd_report(args, settings: Settings) -> int:
    return report_command.run(args, settings)


def cmd_replay(args, settings: Settings) -> int:
    from slawatch.replay import run_replay

    catalog = existing_paths(args.catalog, "catalogue")
    events = readable_file(args.events, "events file")
    if args.at is not None and not args.summary:
        args.verb_parser.error("--at gives the time of the --summary; add --summary")
    return run_replay(catalog, events, sys.stdout, step_s=args.decision_step, summary=args.summary, at=args.at)


def _instant(text: str) -> float:
    from slawatch.replay import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_catalog_validate(args, settings: Settings) -> int:
    from slawatch.catalog.validate_cli import run_validate

    return run_validate(existing_paths(args.paths, "catalogue"))


def _match_filter(text: str) -> tuple[str, str]:
    from slawatch.catalog.sloth_cli import match_filter  # imported when the verb is used

    return match_filter(text)


def cmd_catalog_import_sloth(args, settings: Settings) -> int:
    from slawatch.catalog.sloth_cli import event_filters, run_import

    try:
        filters = event_filters(args.match)
    except ValueError as exc:
        args.verb_parser.error(str(exc))
    return run_import(readable_file(args.spec, "Sloth spec"), filters, args.output, args.verb_parser.prog)


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
        time.sleep(0.1)


def cmd_run(args, settings: Settings) -> int:
    from slawatch.broker import EmbeddedBroker
    from slawatch.topics import apply_topics, load_specs

    run_dir = data_dir(settings.data_dir)
    free_web_port(settings)
    status_page.check_free(args)
    notify_alertmanager.check_run_url(args)
    specs = load_specs(settings.topics_dir)
    catalog = list(settings.catalog_paths) or [str(p) for p in _demo_catalog()]
    catalog_from(catalog)  # every problem said here, before anything starts
    broker = None
    children: list[Child] = []
    try:
        if settings.embedded:
            broker = EmbeddedBroker(port=settings.broker_port, log_path=run_dir / "broker.log").start()
            settings = settings.with_broker(broker.address)
        else:
            reachable_broker(settings)
        report = apply_topics(specs, settings.bootstrap_servers, settings.security.kafka_python_kwargs())
        _start_children(children, args, settings, embedded=broker is not None, catalog=catalog)
        _banner(settings, broker, report, catalog, [f"  web ui     {status_page.page_url(args)}  (status page)",
                                                    notify_alertmanager.banner_line(args)])
        _wait_for_signal(lambda: all(c.running for c in children))
        failed = [f"the {c.name} exited with status {c.process.returncode}"
                  for c in children if not c.running and c.process.returncode != 0]
    finally:
        _stop_in_order(list(reversed(children)), broker)
    if failed:
        raise CliError("; ".join(failed))
    return 0


def _start_children(children: list[Child], args, settings: Settings, embedded: bool, catalog: list[str]) -> None:
    """The worker, the status page, the notifier (when an Alertmanager is named), then the demo (unless
    --no-demo), appended to `children` as each starts."""
    from slawatch.settings import EMBEDDED_SESSION_TIMEOUT_S

    common = ["--broker", settings.broker, "--web-host", settings.web_host, "--web-port", str(settings.web_port),
              "--data-dir", str(settings.data_dir), "--log-level", settings.log_level]
    if embedded:  # the worker sees a plain address; tell it the broker is Tansu-like (see settings)
        common += ["--session-timeout", str(EMBEDDED_SESSION_TIMEOUT_S)]
    worker_cmd = [sys.executable, "-m", "slawatch", "worker", *common, *sum((["--catalog", c] for c in catalog), [])]
    children.append(start_child("worker", worker_cmd, WORKER_GRACE_S))
    children.append(start_child("ui", status_page.child_command(args, settings), status_page.UI_GRACE_S))
    notifier = notify_alertmanager.child_command(args, settings, status_page.page_url(args),
                                                 EMBEDDED_SESSION_TIMEOUT_S if embedded else None)
    if notifier:
        children.append(start_child("notifier", notifier, notify_alertmanager.NOTIFY_GRACE_S))
    if not args.no_demo:
        demo_cmd = [sys.executable, "-m", "slawatch", "demo", "--broker", settings.broker, "--rate", str(args.rate)]
        children.append(start_child("demo", demo_cmd, DEMO_GRACE_S))


def _stop_in_order(children: list[Child], broker) -> None:
    """Stop each child in turn (demo, then worker), then the broker they use; nothing is left running.

    Signals are ignored from here on: a second Ctrl-C must not cut the stop short."""
    if not children and broker is None:
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    print("\nslawatch: stopping ...", file=sys.stderr, flush=True)
    for child in children:
        stop_child(child)
        print(f"slawatch: {child.name} stopped", file=sys.stderr, flush=True)
    if broker:
        broker.stop(BROKER_GRACE_S)
        print("slawatch: broker stopped", file=sys.stderr, flush=True)
    print("slawatch: stopped; nothing left running", file=sys.stderr, flush=True)


def _demo_catalog() -> list[Path]:
    path = Path(__file__).resolve().parents[2] / "examples" / "catalog" / "demo.yaml"
    return [path] if path.exists() else []


def _banner(settings: Settings, broker, report, catalog: list[str], oncall: list[str]) -> None:
    from slawatch.conventions import TOPIC_DEADLETTER

    web = f"http://{settings.web_host}:{settings.web_port}"
    where = f"embedded Tansu on {broker.address}" if broker else settings.broker
    oncall_lines = "".join(f"{line}\n" for line in oncall)
    print(f"""
slawatch is running  (Ctrl-C stops everything)
  broker     {where}
  topics     {len(report.created)} created, {len(report.unchanged)} already there, {len(report.drift)} drifted
  catalogue  {', '.join(catalog) or '(none)'}
  metrics    {web}/metrics      health  {web}/healthz
{oncall_lines}  alerts     .venv/bin/slawatch alerts tail --from-beginning --broker {settings.broker}
  status     .venv/bin/slawatch status --broker {settings.broker}
  follow     .venv/bin/slawatch tail {TOPIC_DEADLETTER} --broker {settings.broker}
  watch      watch -n2 "curl -s {web}/metrics | grep ^slawatch_events"
""", flush=True)
