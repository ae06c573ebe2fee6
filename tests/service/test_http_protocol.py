"""TCP_NODELAY on every connection: uvicorn's multi-worker socket (proto 0) loses asyncio's
default, and a kept-alive connection then waits ~40 ms per request for a delayed ACK."""

from __future__ import annotations

import asyncio
import socket

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from service.runtime import http_protocol
from service.runtime.http_protocol import NoDelayH11Protocol


async def _app(scope, receive, send):  # pragma: no cover - never called: no request is sent
    raise AssertionError("no request expected")


async def _nodelay_of_accepted_connection(http: str) -> int:
    """Serve with `http` on a socket bound the way uvicorn's multi-worker mode binds it and
    return the accepted connection's TCP_NODELAY."""
    config = Config(app=_app, http=http, lifespan="off", log_level="error")
    config.load()
    made: list[asyncio.BaseTransport] = []

    def factory() -> asyncio.Protocol:
        protocol = config.http_protocol_class(
            config=config, server_state=ServerState(), app_state={}
        )
        original = protocol.connection_made

        def connection_made(transport):  # record the server side of the connection
            made.append(transport)
            original(transport)

        protocol.connection_made = connection_made  # type: ignore[method-assign]
        return protocol

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn binds it
    sock.bind(("127.0.0.1", 0))
    server = await asyncio.get_running_loop().create_server(factory, sock=sock)
    try:
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if made:
                break
            await asyncio.sleep(0.01)
        accepted = made[0].get_extra_info("socket")
        value = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        return int(value)
    finally:
        server.close()
        await server.wait_closed()


def _run(http: str) -> int:
    """`asyncio.run` in a thread of its own: Playwright's sync API (the browser tests) leaves
    an event loop running in the main thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _nodelay_of_accepted_connection(http)).result(timeout=30)


def test_uvicorn_alone_leaves_nagle_on_for_such_a_socket():
    """The bug this module exists for: if this starts failing, uvicorn or asyncio fixed it."""
    assert _run("h11") == 0


def test_our_protocol_turns_nagle_off():
    http = "service.runtime.http_protocol:NoDelayH11Protocol"
    config = Config(app=_app, http=http)
    config.load()
    assert config.http_protocol_class is NoDelayH11Protocol
    assert issubclass(NoDelayH11Protocol, H11Protocol)
    assert _run(http) != 0


@pytest.mark.skipif(not http_protocol.HAS_HTTPTOOLS, reason="httptools is not installed")
def test_the_httptools_protocol_turns_nagle_off_and_is_the_one_served():
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert _run("httptools") == 0  # uvicorn's own has the same bug
    config = Config(app=_app, http=http_protocol.PROTOCOL)
    config.load()
    assert issubclass(config.http_protocol_class, HttpToolsProtocol)
    assert _run(http_protocol.PROTOCOL) != 0
