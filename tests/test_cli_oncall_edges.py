"""`slawatch notify alertmanager`, `slawatch ui` and their flags on `slawatch run` answer a bad flag,
a busy port or a broker that does not answer in one line, as every verb does (tests/test_cli_edges.py)."""

from __future__ import annotations

import socket

import pytest

from test_cli_edges import DEAD, assert_one_line, free_port, slawatch

NOTIFY = ["notify", "alertmanager"]
AM = "http://127.0.0.1:9093"

BAD = {
    "no Alertmanager": ([*NOTIFY, "--broker", DEAD], "notify alertmanager", "no Alertmanager given: pass --url"),
    "not http": ([*NOTIFY, "--broker", DEAD, "--url", "am:9093"], "notify alertmanager", "not an Alertmanager address"),
    "bad port": ([*NOTIFY, "--broker", DEAD, "--url", "http://am:99999"], "notify alertmanager", "port is not a number"),
    "bad status page": ([*NOTIFY, "--broker", DEAD, "--url", AM, "--status-page-url", "x"], "notify alertmanager",
                        "--status-page-url 'x': not an http(s) address"),
    "resend interval": ([*NOTIFY, "--url", AM, "--resend-interval", "0"], "notify alertmanager",
                        "--resend-interval: '0' is not a number > 0"),
    "ui port": (["ui", "--broker", DEAD, "--ui-port", "70000"], "ui", "--ui-port: '70000' is not a port 1-65535"),
    "ui refresh": (["ui", "--broker", DEAD, "--refresh", "never"], "ui", "--refresh: 'never' is not a number > 0"),
    "run, Alertmanager": (["run", "--alertmanager-url", "ftp://am"], "run", "--alertmanager-url 'ftp://am': not an"),
}


@pytest.mark.parametrize(("argv", "verb", "says"), BAD.values(), ids=BAD.keys())
def test_a_bad_flag_is_said_in_one_line(argv, verb, says, tmp_path):
    if verb == "run":
        argv += ["--web-port", str(free_port()), "--ui-port", str(free_port()), "--data-dir", str(tmp_path)]
    assert_one_line(slawatch(*argv), verb, says)


def test_a_bad_ui_port_variable_is_named_in_one_line():
    assert_one_line(slawatch("ui", "--broker", DEAD, env={"SLAWATCH_UI_PORT": "lots"}), "ui", "'lots' is not a port")


UNREACHABLE = {"notify alertmanager": [*NOTIFY, "--url", AM], "ui": ["ui"]}


@pytest.mark.parametrize("verb", UNREACHABLE)
def test_a_broker_that_does_not_answer_is_said_in_one_line_within_15s(verb):
    argv = [*UNREACHABLE[verb], "--broker", DEAD] + (["--ui-port", str(free_port())] if verb == "ui" else [])
    assert_one_line(slawatch(*argv), verb, f"no Kafka metadata answer from {DEAD}")


def test_a_busy_status_page_port_is_said_before_anything_starts(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = str(listener.getsockname()[1])
        answer = slawatch("run", "--web-port", str(free_port()), "--ui-port", port, "--data-dir", str(tmp_path))
        assert_one_line(answer, "run", f"--ui-port {port}: cannot listen on 127.0.0.1:{port}")
