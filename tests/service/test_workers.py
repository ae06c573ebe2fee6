"""`serve_workers`: one SO_REUSEPORT socket per worker, restarts, a clean stop.

The servers here are real processes on loopback; the app is a tiny ASGI app that answers
with its worker's pid (tests/service/pid_app.py), so the tests see which worker answered.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest

from service.runtime.workers import reuse_port_supported
from tests.support import PROJECT_ROOT

pytestmark = pytest.mark.skipif(not reuse_port_supported(), reason="no SO_REUSEPORT here")

SERVE = """
import sys
from service.runtime.workers import serve_workers
config = {"app": "tests.service.pid_app:app", "lifespan": "off", "log_level": "warning"}
sys.exit(serve_workers(config, host="127.0.0.1", port=int(sys.argv[1]), workers=2))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def answering_pids(port: int, connections: int, timeout: float = 60) -> Counter[int]:
    """The pid that answered on each of `connections` new connections, once all answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pids: Counter[int] = Counter()
            for _ in range(connections):
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                    pids[int(client.get("/").text)] += 1
            return pids
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    return out.decode(errors="replace")


def test_connections_spread_over_both_workers_and_a_dead_worker_comes_back() -> None:
    port = free_port()
    server = start(port)
    try:
        pids = answering_pids(port, 32)
        # 32 connections hashed over two sockets: all on one worker has odds of 2 in 2^32
        assert len(pids) == 2 and min(pids.values()) >= 4, pids
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            after = answering_pids(port, 32)
            if victim not in after and len(after) == 2:
                break
            assert time.monotonic() < deadline, after
            time.sleep(0.5)
    finally:
        out = stop(server)
    assert server.returncode == 0, out
    for pid in [*pids, *after]:  # every worker stopped with the supervisor
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_port_in_use_is_refused_by_name() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start(port)
        out, _ = server.communicate(timeout=60)
    assert server.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in out.decode()
