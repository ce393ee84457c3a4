"""The status page's HTTP server: the standard library's threading server on 127.0.0.1 by default.

Routes: `/` (the SLO list; `?service=NAME`, `?firing=1`), `/slo/<sla.status key>` (one SLO),
`/healthz` (what has been read; 503 once the feed has stopped). Pages are rendered per request from the store.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from slawatch.ui import render
from slawatch.ui.store import StatusStore

log = logging.getLogger("slawatch.ui")


@dataclass(frozen=True, slots=True)
class PageSettings:
    refresh_s: int
    source: str  # what the page says it reads (the broker address)


def make_server(host: str, port: int, store: StatusStore, settings: PageSettings) -> ThreadingHTTPServer:
    """Bound and listening; OSError if the address is taken or not ours."""

    class Handler(_Handler):
        pass

    Handler.store, Handler.settings = store, settings
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


class _Handler(BaseHTTPRequestHandler):
    store: StatusStore
    settings: PageSettings
    server_version = "slawatch-ui"

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        now = time.time()
        if url.path == "/healthz":
            body = orjson.dumps({"records": self.store.records_read, "caught_up": self.store.caught_up,
                                 "feeding": self.store.feeding})
            return self._send(200 if self.store.feeding else 503, body, "application/json")
        meta = render.meta_line(now, self.settings.refresh_s, self._age(now), self.settings.source)
        if url.path == "/":
            query = parse_qs(url.query)
            filters = render.Filters(service=query.get("service", [""])[0], firing_only=query.get("firing", [""])[0] == "1")
            rows = render.rows_of(self.store.statuses(), self.store.alerts(), now)
            return self._html(200, render.list_page(rows, filters, now, self.settings.refresh_s, meta))
        if url.path.startswith("/slo/"):
            key = unquote(url.path[len("/slo/"):])
            status = self.store.status(key)
            if status is not None:
                span = parse_qs(url.query).get("span", [render.DEFAULT_SPAN])[0]
                page = render.slo_page(key, status, self.store.history(key), self.store.alerts(key), now,
                                       self.settings.refresh_s, meta, span if span in render.SPANS else render.DEFAULT_SPAN)
                return self._html(200, page)
            return self._html(404, render.not_found_page(key, self.settings.refresh_s, meta))
        return self._html(404, render.not_found_page(url.path, self.settings.refresh_s, meta))

    def _age(self, now: float) -> float | None:
        last = self.store.last_record_at
        return None if last is None else now - last

    def _html(self, code: int, page: str) -> None:
        self._send(code, page.encode(), "text/html; charset=utf-8")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the browser went away mid-answer
            pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the standard library's name)
        log.debug("request: " + format, *args)
