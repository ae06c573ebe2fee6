"""uvicorn's HTTP protocol with TCP_NODELAY on every connection, however the socket was made.

asyncio turns Nagle's algorithm off only on sockets whose `proto` is IPPROTO_TCP. With
`--workers 1` uvicorn lets asyncio create the listening socket (proto 6) and every accepted
connection gets TCP_NODELAY. With several workers uvicorn binds the socket itself as
`socket.socket(AF_INET, SOCK_STREAM)` (proto 0), so accepted connections keep Nagle on: the
second request on a kept-alive connection then waited for the client's delayed ACK, ~40 ms
each (measured: 2 workers 48 ms p50 vs 5 ms with 1). Setting the option in
`connection_made` fixes it for both modes.

Two protocols, one per HTTP parser uvicorn has: httptools (C, uvicorn's own default when it
is installed, as the package's dependencies make it) and h11 (pure Python). `PROTOCOL` names
the one `recommender serve` uses: httptools when importable.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def set_nodelay(transport: asyncio.BaseTransport) -> bool:
    """Turn Nagle's algorithm off on a TCP transport's socket; False when it is not TCP."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    return False


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)  # type: ignore[arg-type]


HAS_HTTPTOOLS = importlib.util.find_spec("httptools") is not None

if HAS_HTTPTOOLS:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with TCP_NODELAY: parsing in C, ~10% of a
        recommendation's server CPU less than h11 (bench/bench_http.py)."""

        def connection_made(  # type: ignore[override]
            self, transport: asyncio.BaseTransport
        ) -> None:
            set_nodelay(transport)
            super().connection_made(transport)  # type: ignore[arg-type]


PROTOCOL = (
    "service.runtime.http_protocol:NoDelayHttpToolsProtocol"
    if HAS_HTTPTOOLS
    else "service.runtime.http_protocol:NoDelayH11Protocol"
)
