"""The child processes of `slawatch run`: each in a session of its own, each dying with its parent,
stopped one at a time in the order the caller gives.

A terminal's Ctrl-C reaches its whole foreground process group. Children in that group all got
SIGINT at once, and the broker, quickest to die, left the worker reconnecting to it for seconds. In
sessions of their own only `slawatch run` hears Ctrl-C, and it stops the clients before the broker.
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass

from slawatch.broker.embedded import die_with_parent


@dataclass(frozen=True, slots=True)
class Child:
    name: str
    process: subprocess.Popen
    grace_s: float  # from SIGTERM to SIGKILL

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def start_child(name: str, cmd: list[str], grace_s: float) -> Child:
    """Start `cmd` in a new session (no terminal signals), killed by the kernel if its parent dies."""
    process = subprocess.Popen(cmd, preexec_fn=die_with_parent, start_new_session=True, stdin=subprocess.DEVNULL)
    return Child(name, process, grace_s)


def stop_child(child: Child) -> None:
    """SIGTERM, then SIGKILL once the grace runs out; returns when the process is reaped."""
    if child.running:
        child.process.send_signal(signal.SIGTERM)
    try:
        child.process.wait(child.grace_s)
    except subprocess.TimeoutExpired:
        child.process.kill()
        child.process.wait()
