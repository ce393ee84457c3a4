"""Every `slawatch` verb answers a missing file, a bad flag or a broker that does not answer with one
line on stderr, `slawatch VERB: what is wrong`, and a non-zero exit within 15 s, never a traceback.

Each case runs `python -m slawatch ...` as a person would. No broker is needed: 127.0.0.1:1 is an
address where nothing listens, so the connection is refused and the bounded metadata wait runs out.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEAD = "127.0.0.1:1"
CATALOG = str(REPO / "examples" / "catalog" / "demo.yaml")
EVENTS = str(REPO / "tests" / "golden" / "scenarios" / "outage-pages" / "events.jsonl")
LIMIT_S = 15.0


@dataclass(frozen=True)
class Answer:
    argv: tuple[str, ...]
    code: int
    stderr: str
    seconds: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slawatch(*argv: str, env: dict[str, str] | None = None) -> Answer:
    """`python -m slawatch ARGV` with no SLAWATCH_* variable but `env`; stderr and seconds taken."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLAWATCH_")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "slawatch", *argv], cwd=REPO, env={**clean, **(env or {})},
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=3 * LIMIT_S)
    return Answer(argv, done.returncode, done.stderr, time.monotonic() - started)


def assert_one_line(answer: Answer, verb: str, says: str) -> None:
    where = f"`slawatch {' '.join(answer.argv)}` answered {answer.code} in {answer.seconds:.1f}s:\n{answer.stderr}"
    assert answer.code != 0, where
    assert "Traceback" not in answer.stderr, where
    lines = answer.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), where
    assert lines[0].startswith(" ".join(["slawatch", verb][: 2 if verb else 1]) + ": "), where
    assert says in lines[0], where
    assert answer.seconds < LIMIT_S, where


@pytest.fixture
def folders(tmp_path) -> dict[str, str]:
    (tmp_path / "a-file").write_text("not a folder")
    return {"data": str(tmp_path / "data"), "blocked": str(tmp_path / "a-file" / "data"), "dir": str(tmp_path)}


MISSING_FILES = {
    "replay, catalogue": (["replay", "--catalog", "nope.yaml", EVENTS], "replay",
                          "catalogue nope.yaml: No such file or directory"),
    "replay, events": (["replay", "--catalog", CATALOG, "nope.jsonl"], "replay",
                       "events file nope.jsonl: No such file or directory"),
    "replay, events a folder": (["replay", "--catalog", CATALOG, "{dir}"], "replay", "Is a directory"),
    "catalog validate": (["catalog", "validate", CATALOG, "nope.yaml"], "catalog validate",
                         "catalogue nope.yaml: No such file or directory"),
    "worker, catalogue": (["worker", "--broker", DEAD, "--data-dir", "{data}", "--catalog", "nope.yaml"], "worker",
                          "catalogue nope.yaml: No such file or directory"),
    "run, catalogue": (["run", "--data-dir", "{data}", "--catalog", "nope.yaml"], "run",
                       "catalogue nope.yaml: No such file or directory"),
    "worker, topics": (["worker", "--broker", DEAD, "--data-dir", "{data}", "--topics-dir", "nope"], "worker",
                       "topics folder nope: No such file or directory"),
    "topics apply, topics": (["topics", "apply", "--broker", DEAD, "--topics-dir", "nope"], "topics apply",
                             "topics folder nope: No such file or directory"),
    "run, data folder": (["run", "--data-dir", "{blocked}"], "run", "data folder {blocked}: Not a directory"),
    "worker, data folder": (["worker", "--broker", DEAD, "--data-dir", "{blocked}"], "worker",
                            "data folder {blocked}: Not a directory"),
    "status, CA file": (["status", "--broker", DEAD, "--security-protocol", "SSL", "--ssl-cafile", "nope.pem"], "status",
                        "--ssl-cafile nope.pem: No such file or directory"),
    "demo, CA file": (["demo", "--broker", DEAD, "--security-protocol", "SSL", "--ssl-cafile", "nope.pem"], "demo",
                      "--ssl-cafile nope.pem: No such file or directory"),
    "tail, CA file": (["tail", "sla.events", "--broker", DEAD, "--security-protocol", "SSL", "--ssl-cafile", "nope.pem"],
                      "tail", "--ssl-cafile nope.pem: No such file or directory"),
}


@pytest.mark.parametrize(("argv", "verb", "says"), MISSING_FILES.values(), ids=MISSING_FILES.keys())
def test_a_missing_file_or_folder_is_named_in_one_line(argv, verb, says, folders):
    argv = [a.format(**folders) for a in argv]
    if verb in ("run", "worker"):  # a web port of their own: 6066 may be taken on this machine
        argv += ["--web-port", str(free_port())]
    if verb == "run":  # and a status page port: 6067 too
        argv += ["--ui-port", str(free_port())]
    assert_one_line(slawatch(*argv), verb, says.format(**folders))


BAD_FLAGS = {
    "unknown verb": (["frobnicate"], "", "invalid choice: 'frobnicate'"),
    "unknown flag": (["status", "--broker", DEAD, "--colour"], "status", "unrecognized arguments: --colour"),
    "broker address": (["status", "--broker", "nonsense"], "status", "'nonsense' is not host:port"),
    "web port not a number": (["worker", "--web-port", "abc"], "worker", "--web-port: invalid int value: 'abc'"),
    "web port out of range": (["run", "--web-port", "70000"], "run", "--web-port 70000: a port is 0-65535"),
    "broker port out of range": (["broker", "--broker-port", "99999"], "broker", "--broker-port 99999"),
    "broker given to broker": (["broker", "--broker", DEAD], "broker", "this command starts one"),
    "log level": (["tail", "sla.events", "--broker", DEAD, "--log-level", "loud"], "tail", "--log-level loud: one of"),
    "security protocol": (["alerts", "tail", "--broker", DEAD, "--security-protocol", "TLS"], "alerts tail",
                          "--security-protocol TLS: one of PLAINTEXT"),
    "sasl mechanism": (["status", "--broker", DEAD, "--sasl-mechanism", "MD5"], "status", "--sasl-mechanism MD5"),
    "session timeout": (["worker", "--broker", DEAD, "--session-timeout", "-3"], "worker", "--session-timeout -3.0"),
    "decision step": (["replay", "--catalog", CATALOG, EVENTS, "--decision-step", "0"], "replay",
                      "--decision-step: '0' is not a number > 0"),
    "demo rate": (["demo", "--broker", DEAD, "--rate", "-5"], "demo", "--rate: '-5' is not a number > 0"),
    "demo duration": (["demo", "--broker", DEAD, "--duration", "soon"], "demo", "--duration: 'soon' is not a number"),
    "run rate": (["run", "--rate", "0"], "run", "--rate: '0' is not a number > 0"),
    "tail without a topic": (["tail", "--broker", DEAD], "tail", "required: topic"),
    "topics without a command": (["topics"], "topics", "required: COMMAND"),
    "alerts without a command": (["alerts"], "alerts", "required: COMMAND"),
    "validate without a path": (["catalog", "validate"], "catalog validate", "required: PATH"),
    "replay takes no broker": (["replay", "--catalog", CATALOG, EVENTS, "--broker", DEAD], "replay",
                               "unrecognized arguments: --broker"),
    "validate takes no broker": (["catalog", "validate", CATALOG, "--broker", DEAD], "catalog validate",
                                 "unrecognized arguments: --broker"),
    "no broker at all": (["status"], "status", "no broker given"),
}


@pytest.mark.parametrize(("argv", "verb", "says"), BAD_FLAGS.values(), ids=BAD_FLAGS.keys())
def test_a_bad_flag_is_said_in_one_line_naming_the_verb(argv, verb, says):
    assert_one_line(slawatch(*argv), verb, says)  # no verb to name: the line starts "slawatch: "


def test_a_bad_environment_variable_is_named_in_one_line():
    assert_one_line(slawatch("status", env={"SLAWATCH_WEB_PORT": "lots"}), "status", "SLAWATCH_WEB_PORT='lots'")


def test_a_busy_web_port_is_said_before_anything_starts(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = str(listener.getsockname()[1])
        for verb in ("worker", "run"):
            answer = slawatch(verb, "--broker", DEAD, "--web-port", port, "--data-dir", str(tmp_path))
            assert_one_line(answer, verb, f"--web-port {port}: cannot listen on 127.0.0.1:{port}")


UNREACHABLE = {
    "run": ["run", "--no-demo"],
    "worker": ["worker"],
    "topics apply": ["topics", "apply"],
    "demo": ["demo"],
    "tail": ["tail", "sla.events"],
    "alerts tail": ["alerts", "tail"],
    "status": ["status"],
}


@pytest.mark.parametrize("verb", UNREACHABLE)
def test_a_broker_that_does_not_answer_is_said_in_one_line_within_15s(verb, tmp_path):
    argv = [*UNREACHABLE[verb], "--broker", DEAD]
    if verb in ("run", "worker"):
        argv += ["--data-dir", str(tmp_path), "--web-port", str(free_port())]
    if verb == "run":
        argv += ["--ui-port", str(free_port())]
    assert_one_line(slawatch(*argv), verb, f"no Kafka metadata answer from {DEAD}")
