"""Structured logs: key=value lines for people, or one JSON object per line for log shippers.

Faust and mode log through the standard library; one dictConfig handed to the Faust worker makes
their lines and ours look the same.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import orjson

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _extra(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extra(record),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extra = " ".join(f"{k}={v}" for k, v in _extra(record).items())
        line = f"{when} {record.levelname.lower():7} {record.name}: {record.getMessage()}" + (f" {extra}" if extra else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def logging_config(level: str = "info", json: bool = False) -> dict:
    formatter = "slawatch.logs.JsonFormatter" if json else "slawatch.logs.KeyValueFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # kafka-python narrates every connection at INFO; its warnings still show.
        "loggers": {"kafka": {"level": "WARNING"}},
    }


def configure(level: str = "info", json: bool = False) -> None:
    import logging.config

    logging.config.dictConfig(logging_config(level, json))
