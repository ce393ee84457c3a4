"""A grammar of hostile `sla.events` records, walked by a `random.Random`: the same seed, the same records.

Records are written as JSON *text* by hand, not through a JSON library, so they can hold what no
encoder emits: invalid UTF-8 inside a string, lone surrogate escapes, NaN and Infinity literals,
1e400, integers past 64 bits, duplicate keys, 10,000 nested arrays. Most events are valid, and an
invalid one usually breaks one field of a valid one, so batches mix both. Which events are valid is
not decided here: the project's decoder (`decode_record`) is the oracle. Valid timestamps are at
most 10 minutes old, so no SLO of a test catalogue refuses them as too old or too far ahead.
The unit property test draws the `Random` from hypothesis; the real-broker test seeds it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import orjson

from slawatch.conventions import HEADER_ORIGIN

DEEP = 10_000  # nested arrays in a "deep" record: past every parser's depth limit
HUGE_BATCH = 10_000


class Record(NamedTuple):
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None = None


# Headers a producer may set that only the worker should: malformed origins must be ignored.
FORGED_ORIGINS = [b"x", b"\xff\xfe", b"1:2:3:4", b"-1:5", b"1:5:99999", b"", "\u0661:\u0662".encode(), b"9" * 400]


def text(value: str) -> bytes:
    return orjson.dumps(value)


def nested(depth: int, core: bytes = b"") -> bytes:
    return b"[" * depth + core + b"]" * depth


# Tokens that are no valid value of any field, or only of some: each is JSON text, or almost.
NUMBERS = [b"1e400", b"-1e400", b"NaN", b"Infinity", b"-Infinity", str(2**64 + 1).encode(), b"1" + b"0" * 400,
           b"-0", b"1e-400", b"0x10", b"01", b"1.", b".5", b"+1"]
STRINGS = [b'"\xff\xfe"', b'"\xc3"', b'"\xed\xa0\x80"', b'"\\ud800"', b'"\\udc00\\ud800"', b'"\\u0000"', b'""',
           text("x" * 201), text("\u00e9" * 201), text("y" * 1_000), b'"unterminated', b"'single'"]
OTHERS = [b"null", b"true", b"false", b"[]", b"{}", b"[1,2]", b'{"a":{"b":1}}', nested(300), nested(1_100),
          b"[", b"}", b"", b"\x00"]


def _parses(token: bytes) -> bool:
    try:
        orjson.loads(b"[%s]" % token)
    except orjson.JSONDecodeError:
        return False
    return True


LATENCIES = [b"0", b"12.5", b"1e300", b"1e-400", str(2**64 + 1).encode()]
LABELS = [text(t) for t in ("GET /", "acme", "eu-west-1", "x" * 200, "\u00e9\U0001f600" * 100)]
_NAMES = {name: text(name) + b":" for name in
          ("service", "ts", "ok", "latency_ms", "operation", "customer", "region", "attributes", "colour")}
TOKENS = NUMBERS + STRINGS + OTHERS
JSON_TOKENS = [t for t in TOKENS if _parses(t)]  # a batch element broken by one of these keeps its neighbours
BAD_TIMES = ["2026-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z",
             "2026-01-01T00:60:00Z", "2026-01-01T00:00:00+24:00", "\u0662\u0660\u0662\u0666-01-01T00:00:00Z",
             "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-01-01T00:00:00", "yesterday",
             "2026-01-01T00:00:00.1234567890Z", "1999-12-31T23:59:59Z", "3000-01-01T00:00:00Z"]


class HostileGrammar:
    """Records for `services` (plus names outside them) around wall-clock `now`."""

    def __init__(self, rng: random.Random, now: float, services: tuple[str, ...]) -> None:
        self.rng = rng
        self.now = now
        self.services = services

    def record(self) -> Record:
        record = self._record()
        if self.rng.random() < 0.01:
            return record._replace(headers=[(HEADER_ORIGIN, self.rng.choice(FORGED_ORIGINS))])
        return record

    def _record(self) -> Record:
        roll = self.rng.random()
        if roll < 0.55:
            return self._keyed([self.event()])
        if roll < 0.75:
            return self._keyed([self.event(p_bad=0.15, json_only=True) for _ in range(self.rng.randint(2, 12))])
        if roll < 0.99997:
            return Record(self._key(None), self.garbage())
        return self._keyed([self.event(p_bad=0.01, plain=True) for _ in range(HUGE_BATCH)], batch=True)

    def _keyed(self, elements: list[tuple[str, bytes]], batch: bool | None = None) -> Record:
        """One element as an object, or several (or one, sometimes) as an array."""
        service = elements[0][0]
        many = len(elements) > 1 or (batch if batch is not None else self.rng.random() < 0.3)
        value = b"[" + b",".join(e for _, e in elements) + b"]" if many else elements[0][1]
        return Record(self._key(service), value)

    def _key(self, service: str | None) -> bytes | None:
        roll = self.rng.random()
        if service is not None and roll < 0.6:
            return service.encode()
        if roll < 0.85:
            return None
        return self.rng.choice([b"\xff\xfe", b"x" * 2_000, self.service().encode(), b""])

    def service(self) -> str:
        if self.rng.random() < 0.8:
            return self.rng.choice(self.services)
        return f"unknown-{self.rng.randrange(10**6)}"

    def event(self, p_bad: float = 0.3, plain: bool = False, json_only: bool = False) -> tuple[str, bytes]:
        """(its service, the element's JSON text): valid, or one field broken; `plain`: the three
        required fields only (a 10,000-event batch of them stays under 1 MiB); `json_only`: mostly
        broken so that the record stays JSON (the other elements of a batch stay countable)."""
        rng = self.rng
        random = rng.random
        json_only = json_only or plain
        service = self.service()
        fields: dict[str, bytes] = {"service": text(service), "ts": self.timestamp(),
                                    "ok": b"true" if random() < 0.8 else b"false"}
        if not plain:
            if random() < 0.5:
                fields["latency_ms"] = rng.choice(LATENCIES) if random() < 0.3 else b"%.3f" % (random() * 5e3)
            if random() < 0.3:
                name = rng.choice(("operation", "customer", "region"))
                fields[name] = rng.choice(LABELS)
            if random() < 0.1:
                fields["attributes"] = self.attributes(valid=True)
            if random() < 0.05:
                fields["colour"] = self.token(json_only)  # an unknown field: ignored, whatever it holds
        if random() < p_bad:
            self._break(fields, json_only)
        body = [_NAMES[k] + v for k, v in fields.items()]
        if not plain and random() < 0.05:  # a duplicate key: the last one wins
            body.insert(0, _NAMES[rng.choice(list(fields))] + self.token(json_only))
        if not plain and random() < 0.2:
            rng.shuffle(body)
        return service, b"{" + b",".join(body) + b"}"

    def _break(self, fields: dict[str, bytes], json_only: bool) -> None:
        rng = self.rng
        name = rng.choice(["service", "ts", "ts", "ok", "latency_ms", "operation", "attributes", "drop"])
        if name == "drop":
            del fields[rng.choice(["service", "ts", "ok"])]
        elif name == "ts":
            fields["ts"] = self.bad_timestamp(json_only)
        elif name == "attributes":
            fields["attributes"] = self.attributes(valid=False)
        else:
            fields[name] = self.token(json_only)

    def token(self, json_only: bool = False) -> bytes:
        """A hostile JSON value, or almost one; `json_only`: nearly always one that parses."""
        if json_only and self.rng.random() < 0.97:
            return self.rng.choice(JSON_TOKENS)
        return self.rng.choice(self.rng.choice([NUMBERS, STRINGS, OTHERS]))

    def timestamp(self) -> bytes:
        ts = self.now - self.rng.uniform(0, 600)
        if self.rng.random() < 0.7:
            return repr(ts).encode()
        offset = timedelta(minutes=self.rng.choice([0, 60, -330, 23 * 60 + 59]))
        when = datetime.fromtimestamp(ts, timezone(offset)).isoformat()
        return text(when.replace("+00:00", self.rng.choice(["Z", "z", "+00:00"])))

    def bad_timestamp(self, json_only: bool = False) -> bytes:
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:
            return text(rng.choice(BAD_TIMES))
        if roll < 0.7:  # epoch numbers out of range: milliseconds, before 2000, days ahead
            return repr(rng.choice([self.now * 1000, 946_684_799.0, self.now + 2 * 86_400, -1.0, 0.0])).encode()
        return self.token(json_only)

    def attributes(self, valid: bool) -> bytes:
        rng = self.rng
        if valid:
            pairs = {f"k{i}": rng.choice([text("v"), b"3", b"true", b"2.5"]) for i in range(rng.randint(0, 5))}
        else:
            choice = rng.randrange(4)
            if choice == 0:
                pairs = {f"k{i}": b"1" for i in range(65)}
            elif choice == 1:
                pairs = {"long": text("z" * 201)}
            elif choice == 2:
                pairs = {"nested": rng.choice([b"[1]", b'{"a":1}', b"null", nested(300)])}
            else:
                return rng.choice([b"[]", b'"flat"', b"7", nested(300)])
        return b"{" + b",".join(b"%s:%s" % (text(k), v) for k, v in pairs.items()) + b"}"

    def garbage(self) -> bytes | None:
        """A record that is not an event nor a batch of them, or hardly."""
        rng = self.rng
        choice = rng.randrange(9)
        if choice == 0:
            return bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        if choice == 1:
            return nested(DEEP if rng.random() < 0.05 else rng.choice([1_024, 1_025]))
        if choice == 2:
            return nested(rng.choice([255, 256, 1_000]), self.event(p_bad=0)[1])
        if choice == 3:
            return b"[]" if rng.random() < 0.5 else b"[" + b",".join([b"[]"] * rng.randint(1, 10)) + b"]"
        if choice == 4:
            return rng.choice([None, b""])
        if choice == 5:
            return self.token()
        if choice == 6:  # a batch of things that are not events
            return b"[" + b",".join(self.token() or b"0" for _ in range(rng.randint(1, 10))) + b"]"
        if choice == 7:  # invalid UTF-8 around a valid event
            return b"\xef\xbb\xbf" + self.event(p_bad=0)[1] if rng.random() < 0.5 else self.event(p_bad=0)[1][:-1] + b"\xff}"
        return self.event(p_bad=1.0)[1]
