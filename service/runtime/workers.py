"""Several uvicorn workers, each accepting on a listening socket of its own (SO_REUSEPORT).

uvicorn's `--workers N` binds one socket in the parent and every worker accepts from it. A
worker that wakes up takes every connection waiting (asyncio and uvloop accept in a loop), so
a client that opens its connections at once, as a portal's pool or a load generator does,
lands mostly on one worker: measured with 2 workers and 16 kept-alive connections at
~220 requests/s, one worker used 69% of a core and the other 15%, and the p99 was the busy
worker's queue. With SO_REUSEPORT the kernel spreads connections over one socket per worker
by their addresses' hash, which keeps the workers about equally busy.

The parent binds the N sockets (so a port in use fails at once, with the port in the error),
starts one process per socket, restarts a worker that dies (on the same socket: connections
that arrived meanwhile wait in its backlog), and on SIGINT/SIGTERM stops them all: each
worker finishes its requests in flight (uvicorn's graceful shutdown) before it exits.
Linux and the BSDs have SO_REUSEPORT; elsewhere `reuse_port_supported()` is False and
`recommender serve` uses uvicorn's own shared socket.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from typing import Any

log = logging.getLogger("service.runtime.workers")

__all__ = ["reuse_port_supported", "serve_workers"]


def reuse_port_supported() -> bool:
    """Whether this platform balances connections over SO_REUSEPORT sockets."""
    return hasattr(socket, "SO_REUSEPORT")


def _listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.set_inheritable(True)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def _check_free(host: str, port: int) -> None:
    """Fail when anything listens on the port already: SO_REUSEPORT would otherwise let a
    second server (of the same user) bind it too and silently take half the connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no listener
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _run_worker(config_kwargs: dict[str, Any], sock: socket.socket) -> None:
    """One worker process: a uvicorn server on its own socket."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(**config_kwargs))
    server.run(sockets=[sock])


def serve_workers(
    config_kwargs: dict[str, Any],
    *,
    host: str,
    port: int,
    workers: int,
    backlog: int = 2048,
    stop_timeout: float = 30.0,
) -> int:
    """Serve `config_kwargs` (uvicorn.Config's arguments; the app as an import string) from
    `workers` processes until SIGINT or SIGTERM. Returns 0 after a clean stop."""
    if workers < 1:
        raise ValueError(f"workers={workers!r} must be at least 1")
    sockets: list[socket.socket] = []
    try:
        if port != 0:
            _check_free(host, port)
        if port == 0:  # one ephemeral port for all: the first socket picks it
            sockets.append(_listening_socket(host, 0, backlog))
            port = sockets[0].getsockname()[1]
        while len(sockets) < workers:
            sockets.append(_listening_socket(host, port, backlog))
        context = multiprocessing.get_context("spawn")
        stopping = threading.Event()

        def start(i: int) -> multiprocessing.process.BaseProcess:
            process = context.Process(
                target=_run_worker, args=(config_kwargs, sockets[i]), name=f"reco-worker-{i}"
            )
            process.start()
            return process

        def stop(signum: int, frame: object) -> None:
            stopping.set()

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        processes = [start(i) for i in range(workers)]
        log.info("started %d workers on %s:%d (SO_REUSEPORT)", workers, host, port)
        try:
            while not stopping.wait(0.5):
                for i, process in enumerate(processes):
                    if not process.is_alive() and not stopping.is_set():
                        log.warning(
                            "worker %d (pid %s) exited with %s; starting it again",
                            i,
                            process.pid,
                            process.exitcode,
                        )
                        processes[i] = start(i)
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn's graceful shutdown
            deadline = time.monotonic() + stop_timeout
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join()
            for s, handler in previous.items():
                signal.signal(s, handler)
    finally:
        for sock in sockets:
            sock.close()
    return 0
