"""The `slawatch report` verb: its flags, its checks, and writing the report.

    slawatch report --broker kafka://kafka-1:9092 --period 2026-11 -o november.html
    slawatch report --events events.jsonl --catalog catalog/ --last 3 months --format json

Said in one line, before the long read where it can be: a bad range, format or output folder,
--events without --catalog, no broker, a broker without sla.records, a missing report extra.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from slawatch.cli_checks import CliError, existing_paths, readable_file, reachable_broker

FORMATS = ("html", "json", "md")
EXTRA_HINT = "pip install 'slawatch[report]'"


def _share(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        value = -1.0
    if not 0 <= value < 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not a growth share, e.g. 0.1 or 10%")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 120:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of periods 1-120")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("where the records come from (default: sla.records on --broker)")
    source.add_argument("--events", metavar="FILE", help="compute the records from this JSONL events file with the "
                        "replay engine (give the catalogue with --catalog)")
    when = parser.add_argument_group("what it covers (default: the month of the newest data; UTC)")
    when.add_argument("--period", help="2026-11, 2026-Q4, 2026-W46, 2026-11-14 or 2026")
    when.add_argument("--from", dest="start", metavar="DATE", help="first day, e.g. 2026-09-01")
    when.add_argument("--to", dest="end", metavar="DATE", help="last day (default: the newest data's)")
    when.add_argument("--last", nargs="+", metavar="N UNIT", help="e.g. --last 3 months (days, weeks, months, quarters)")
    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=FORMATS, help="default: from -o's extension, else md")
    out.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    out.add_argument("--portfolio", action="store_true", help="start with the one-page view over all services")
    out.add_argument("--periods", type=_count, default=6, help="periods of the portfolio's trend (default 6)")
    out.add_argument("--growth-threshold", type=_share, default=0.10,
                     help="flag services whose forecast traffic grows more than this (default 0.10 = 10%%)")


def output_format(args) -> str:
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    return {"htm": "html", "markdown": "md"}.get(suffix, suffix) if suffix in (*FORMATS, "htm", "markdown") else "md"


def _check_output(path: str | None) -> None:
    if path is None:
        return
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise CliError(f"-o {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise CliError(f"-o {path}: not writable")


def _check_extra(fmt: str) -> None:
    """The report extra's libraries, said in one line with how to install them."""
    needed = ["tqdm", "statsmodels"] + (["matplotlib"] if fmt == "html" else [])
    import importlib.util

    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise CliError(f"needs {', '.join(missing)} (the report extra): {EXTRA_HINT}")


def collect(args, settings):
    from slawatch.report import sources

    if args.events:
        if not settings.catalog_paths:
            raise CliError("--events needs the catalogue its events are counted against: add --catalog PATH")
        events = readable_file(args.events, "events file")
        return sources.from_events(existing_paths(list(settings.catalog_paths), "catalogue"), events,
                                   settings.decision_step_s)
    if settings.embedded:
        raise CliError("no source given: pass --broker HOST:PORT to read sla.records (or SLAWATCH_BROKER), "
                       "or --events FILE --catalog PATH to compute the records from events")
    return sources.from_broker(reachable_broker(settings))


def run(args, settings) -> int:
    from slawatch.report.period import RangeError, resolve

    fmt = output_format(args)
    _check_output(args.output)
    _check_extra(fmt)
    try:  # a malformed range is said before the long read
        resolve(args.period, args.start, args.end, args.last, 0.0)
    except RangeError as exc:
        raise CliError(str(exc)) from None
    collected = collect(args, settings)
    newest = collected.newest
    if newest is None:
        raise CliError(f"no compliance records in {collected.source} (a worker publishes them once it counts events)")
    rng = resolve(args.period, args.start, args.end, args.last, newest)
    text = render(collected, rng, fmt, args)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"slawatch report: {rng.label} ({fmt}, {len(text.encode()):,} bytes) written to {args.output}",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def render(collected, rng, fmt: str, args) -> str:
    import orjson

    from slawatch.report.build import build_report

    doc = build_report(collected, rng, args.growth_threshold, args.periods if args.portfolio else None)
    if not doc["slos"]:
        raise CliError(f"no compliance records in {rng.label} ({collected.source} has data until {doc['data_until']})")
    if fmt == "json":
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    if fmt == "md":
        from slawatch.report.markdown import render_markdown

        return render_markdown(doc)
    from slawatch.report.html import render_html

    return render_html(doc)
