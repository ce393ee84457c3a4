"""Real on-call components for the tests: Alertmanager, the notifier and the status page as processes,
and headless Chromium. Nothing is faked: each is the Debian program or `python -m slawatch VERB`.

A missing program fails the test with how to install it (`make test` installs both first, through
the `alertmanager` and `chromium` targets); it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import orjson
import pytest

from kafka_helpers import REPO, http_get, wait_for
from slawatch.broker.embedded import die_with_parent, free_port

# Tansu answers a group join after half the session timeout: 4 s keeps a notifier's start near 2 s.
NOTIFIER_SESSION_TIMEOUT_S = 4
AM_CONFIG = 'route: {receiver: "null"}\nreceivers: [{name: "null"}]\n'


def require_program(program: str, package: str, make_target: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: run `make {make_target}` "
                    f"(or `sudo apt-get install {package}`)", pytrace=False)
    return path


def _spawn(cmd: list[str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=die_with_parent, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Alertmanager:
    """Debian's prometheus-alertmanager on 127.0.0.1, no cluster listener; restartable on its port."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_program("prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
        self.workdir = workdir
        self.port = free_port()
        (workdir / "am.yml").write_text(AM_CONFIG)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Alertmanager:
        self.process = _spawn([self.binary, f"--config.file={self.workdir / 'am.yml'}",
                               f"--storage.path={self.workdir / 'data'}",
                               f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
                              self.workdir / "alertmanager.log")
        wait_for(lambda: http_get(f"{self.url}/-/ready")[0] == 200, 15, 0.05, "Alertmanager ready")
        return self

    def stop(self) -> None:
        _stop(self.process)
        wait_for(lambda: http_get(f"{self.url}/-/ready")[0] == 0, 10, 0.05, "Alertmanager stopped")

    def alerts(self, **labels: str) -> list[dict]:
        """Active alerts (GET /api/v2/alerts), filtered by exact label values."""
        query = urllib.parse.urlencode([("filter", f'{k}="{v}"') for k, v in labels.items()])
        status, body = http_get(f"{self.url}/api/v2/alerts?{query}")
        assert status == 200, f"GET /api/v2/alerts answered {status}: {body[:200]!r}"
        return orjson.loads(body)

    def rules_active(self) -> set[str]:
        return {a["labels"]["rule"] for a in self.alerts()}


class Notifier:
    """`python -m slawatch notify alertmanager` as a subprocess."""

    def __init__(self, broker: str, alertmanager_url: str, log_path: Path, *extra: str) -> None:
        self.cmd = [sys.executable, "-m", "slawatch", "notify", "alertmanager", "--broker", broker,
                    "--url", alertmanager_url, "--session-timeout", str(NOTIFIER_SESSION_TIMEOUT_S), *extra]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> Notifier:
        self.process = _spawn(self.cmd, self.log_path)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        _stop(self.process)
        return self.process.returncode if self.process else 0

    def kill(self) -> None:
        _stop(self.process, signal.SIGKILL)


class StatusPage:
    """`python -m slawatch ui` as a subprocess on a free port."""

    def __init__(self, broker: str, log_path: Path, refresh_s: int = 2) -> None:
        self.port = free_port()
        self.cmd = [sys.executable, "-m", "slawatch", "ui", "--broker", broker, "--ui-port", str(self.port),
                    "--refresh", str(refresh_s)]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StatusPage:
        self.process = _spawn(self.cmd, self.log_path)
        wait_for(lambda: http_get(f"{self.url}/healthz")[0] == 200, 20, 0.1, f"status page up (log {self.log_path})")
        return self

    def get(self, path: str) -> str:
        status, body = http_get(self.url + path)
        assert status == 200, f"GET {path} answered {status}"
        return body.decode()

    def stop(self) -> int:
        _stop(self.process)
        return self.process.returncode if self.process else 0


# The flags this machine's Chromium needs (the network is closed; no sandbox as root; a fresh profile).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


class Chromium:
    """Debian's headless Chromium: the DOM it rendered, or a screenshot, one process per page."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_program("chromium", "chromium", "chromium")
        self.workdir = workdir
        self.runs = 0

    def _run(self, url: str, *flags: str) -> subprocess.CompletedProcess:
        self.runs += 1
        profile = self.workdir / f"profile-{self.runs}"
        done = subprocess.run([self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *flags, url],
                              capture_output=True, timeout=90)
        assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr[-800:]!r}"
        return done

    def dom(self, url: str) -> str:
        return self._run(url, "--dump-dom").stdout.decode()

    def screenshot(self, url: str, path: Path, width: int = 1400, height: int = 900) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._run(url, f"--screenshot={path}", f"--window-size={width},{height}")
        assert path.stat().st_size > 10_000, f"{path} is nearly empty"
        return path


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs, self.children, self.texts = tag, attrs, [], []

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts + [c.text for c in self.children]).split())

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements by tag and exact attribute values (`class_` matches one class among several)."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}

        def matches(e: Element) -> bool:
            for name, value in wanted.items():
                have = e.attrs.get(name)
                if have is None or (value is not True and (value not in have.split() if name == "class" else have != value)):
                    return False
            return tag is None or e.tag == tag

        return [e for e in self.iter() if matches(e)]

    def by_id(self, element_id: str) -> Element:
        (found,) = self.find_all(id=element_id)
        return found


def parse_dom(html: str) -> Element:
    """The DOM Chromium dumped, as a small tree (the standard library's parser; void tags closed)."""
    from html.parser import HTMLParser

    void = {"meta", "link", "br", "img", "input", "hr", "rect", "line", "circle", "polyline"}
    root = Element("#document", {})

    class Builder(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack = [root]

        def handle_starttag(self, tag, attrs):
            element = Element(tag, {k: v if v is not None else "" for k, v in attrs})
            self.stack[-1].children.append(element)
            if tag not in void:
                self.stack.append(element)

        def handle_endtag(self, tag):
            for i in range(len(self.stack) - 1, 0, -1):
                if self.stack[i].tag == tag:
                    del self.stack[i:]
                    break

        def handle_data(self, data):
            self.stack[-1].texts.append(data)

    Builder().feed(html)
    return root
