"""Hostile input against the running server: each gets a clear 4xx and nothing stored changes.

One real server (impressions off, so that a request that is wrongly accepted would be the
only way the journal could change) takes oversized bodies, with and without Content-Length;
deeply nested JSON; invalid UTF-8 and unpaired UTF-16 surrogate escapes in every kind of text
field; absurd values of `n`; path traversal in every id of every resource and in the console's
static files; and, through the CLI while the server runs, a folder of malicious documents (a
DOCX zip bomb, an oversized PDF, a PDF with JavaScript). After each test the event rows, the
catalog folder, the partner table, the playbook, overrides, keys, audit log and the promoted
model are byte-for-byte what they were.

Formula injection: events whose text starts with `=`, `+`, `-`, `@` are stored verbatim (the
journal does not alter data) and come out of the CSV export as text a spreadsheet will not run.
"""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.reliability.helpers import stored_state
from tests.support import (
    CLI,
    PROJECT_ROOT,
    Server,
    Template,
    copy_workspace,
    start_server,
    stop_server,
)

LIMIT = 1_048_576  # the default RECO_MAX_BODY_BYTES


@pytest.fixture(scope="module")
def server(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("hostile")
    ws = copy_workspace(template, base / "ws")
    srv = start_server(ws, base / "server.log", env={"RECO_IMPRESSIONS": "off"})
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture
def unchanged(server: Server) -> Iterator[None]:
    """Asserts that the test left everything the workspace stores as it found it."""
    before = stored_state(server.workspace)
    yield
    assert stored_state(server.workspace) == before


JSON = {"Content-Type": "application/json"}


def _is_clear_client_error(
    r: httpx.Response, *, allowed: tuple[int, ...] = (400, 413, 422)
) -> None:
    assert r.status_code in allowed, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    detail = r.json()["detail"]
    assert detail and "internal error" not in json.dumps(detail)


def _raw(server: Server, request: bytes, timeout: float = 30) -> bytes:
    """Send raw bytes on a fresh connection; return everything the server answers."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        try:
            while data := s.recv(65536):
                chunks.append(data)
                if b"\r\n\r\n" in b"".join(chunks) and len(b"".join(chunks)) > 100:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return b"".join(chunks)


# --- bodies ---------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_413(server: Server, unchanged: None) -> None:
    big = b'{"events": [' + b" " * (LIMIT + 10) + b"]}"
    with server.client("portal") as c:
        r = c.post("/v1/events", content=big, headers={"Content-Type": "application/json"})
    _is_clear_client_error(r, allowed=(413,))
    assert str(LIMIT) in r.json()["detail"]
    with server.client("admin") as c:
        r = c.put("/v1/assets/A0001", content=big, headers={"Content-Type": "application/json"})
    _is_clear_client_error(r, allowed=(413,))


def test_a_streamed_body_without_content_length_is_cut_at_the_limit(
    server: Server, unchanged: None
) -> None:
    """Chunked transfer encoding over a real socket: only the stream tells the size."""
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40)) + b"0\r\n\r\n"
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {server.keys['portal']}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    answer = _raw(server, head + body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The server is unharmed.
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200


def test_a_content_length_that_is_not_a_number_is_400(server: Server, unchanged: None) -> None:
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {server.keys['portal']}\r\nContent-Length: 12abc\r\n\r\n"
    ).encode()
    answer = _raw(server, head + b'{"events":[]}')
    assert answer.split(b" ", 2)[1] in (b"400", b"413"), answer[:200]


NESTED = {
    "arrays": "[" * 200_000 + "]" * 200_000,
    "objects": '{"a":' * 60_000 + "1" + "}" * 60_000,
    "inside-a-field": '{"partner_id": "P0001", "context": {"stage": "negotiation", "notes": '
    + "[" * 100_000
    + "]" * 100_000
    + "}}",
    "events-inside": '{"events": [' + "[" * 100_000 + "]" * 100_000 + "]}",
}


@pytest.mark.parametrize("shape", list(NESTED))
def test_deeply_nested_json_is_a_client_error(server: Server, unchanged: None, shape: str) -> None:
    path = "/v1/events" if "events" in shape or shape == "objects" else "/v1/recommendations"
    with server.client("portal") as c:
        r = c.post(path, content=NESTED[shape], headers={"Content-Type": "application/json"})
    _is_clear_client_error(r)


# --- text that is not valid Unicode ---------------------------------------------------------
INVALID_UTF8 = {
    "bare-ff": b'{"partner_id": "P\xff\xfe", "context": {"stage": "negotiation"}}',
    "truncated-sequence": b'{"partner_id": "P0001", "context": {"stage": "negotiation", '
    b'"notes": "\xc3\x28 deal"}}',
    "overlong-slash": b'{"partner_id": "P0001", "context": {"stage": "negotiation", '
    b'"notes": "\xc0\xaf\xc0\xaf"}}',
    "encoded-surrogate": b'{"partner_id": "P0001", "context": {"stage": "negotiation", '
    b'"notes": "\xed\xa0\x80"}}',
}


@pytest.mark.parametrize("body", list(INVALID_UTF8))
def test_invalid_utf8_in_a_body_is_a_client_error(
    server: Server, unchanged: None, body: str
) -> None:
    with server.client("portal") as c:
        r = c.post(
            "/v1/recommendations",
            content=INVALID_UTF8[body],
            headers={"Content-Type": "application/json"},
        )
    _is_clear_client_error(r)


def _event(field: str, value: str) -> dict[str, Any]:
    event = {"event_id": "sur-1", "ts": "2026-01-05T12:00:00Z", "type": "open",
             "partner_id": "P0001", "asset_id": "A0001"}  # fmt: skip
    return {"events": [{**event, field: value}]}


# (method, path, scope, body with a {TEXT} placeholder): each text field a client controls.
SURROGATE_TARGETS = {
    "recommendation-notes": ("POST", "/v1/recommendations", "portal",
                             {"partner_id": "P0001", "context": {"stage": "negotiation",
                                                                 "notes": "{TEXT}"}}),
    "recommendation-partner-id": ("POST", "/v1/recommendations", "portal",
                                  {"partner_id": "{TEXT}", "context": {"stage": "discovery"}}),
    "event-id": ("POST", "/v1/events", "portal", _event("event_id", "{TEXT}")),
    "event-request-id": ("POST", "/v1/events", "portal", _event("request_id", "{TEXT}")),
    "asset-title": ("PUT", "/v1/assets/sur-asset", "admin",
                    {"title": "{TEXT}", "type": "battlecard", "summary": "a summary"}),
    "partner-name": ("PUT", "/v1/partners/SUR1", "admin", {"name": "{TEXT}"}),
    "override-comment": ("POST", "/v1/overrides", "manager",
                         {"action": "hide", "asset_id": "A0001", "scope": "global",
                          "comment": "{TEXT}"}),
}  # fmt: skip


@pytest.mark.parametrize("length", ["short", "long"])
@pytest.mark.parametrize("target", list(SURROGATE_TARGETS))
def test_an_unpaired_surrogate_escape_is_a_client_error(
    server: Server, unchanged: None, target: str, length: str
) -> None:
    r"""JSON may spell a lone UTF-16 surrogate (`"\ud800"`); it is not a character, cannot be
    stored or echoed as UTF-8, and must be refused as invalid text, whatever its length."""
    method, path, scope, body = SURROGATE_TARGETS[target]
    text = ("x" * 300 if length == "long" else "x") + "\\ud800y"
    raw = json.dumps(body).replace("{TEXT}", text)
    with server.client(scope) as c:
        r = c.request(method, path, content=raw, headers={"Content-Type": "application/json"})
    _is_clear_client_error(r)


def test_a_surrogate_pair_escape_is_an_ordinary_character(server: Server) -> None:
    notes = "ok \\ud83d\\ude00"  # an emoji, as an ASCII-only JSON encoder writes it
    body = '{"partner_id": "P0001", "context": {"stage": "negotiation", "notes": "' + notes + '"}}'
    with server.client("portal") as c:
        r = c.post("/v1/recommendations", content=body, headers=JSON)
    assert r.status_code == 200, r.text


def test_invalid_bytes_in_headers_and_query_are_harmless(server: Server, unchanged: None) -> None:
    answer = _raw(
        server, b"GET /v1/assets HTTP/1.1\r\nHost: x\r\nX-API-Key: reco_\xff\xfe\x80\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    with server.client("admin") as c:
        for query in ("q=%FF%FE", "q=%ED%A0%80", "q=%00", "industry=%ED%A0%80"):
            r = c.get(f"/v1/assets?{query}")
            assert r.status_code in (200, 422), (query, r.status_code, r.text[:200])
        assert c.get("/v1/partners?q=%ED%A0%80").status_code in (200, 422)


# --- n --------------------------------------------------------------------------------------
HUGE_N = ["10" + "0" * 100, "1e308", "-1", "0", "51", "9223372036854775808", "1.5", "NaN",
          "Infinity", "-Infinity", "1" * 5000, "[5]", '{"n": 5}', "null", '"many"']  # fmt: skip


@pytest.mark.parametrize("n", HUGE_N, ids=[n[:12] for n in HUGE_N])
def test_absurd_n_is_a_client_error(server: Server, unchanged: None, n: str) -> None:
    body = '{"partner_id": "P0001", "context": {"stage": "negotiation"}, "n": ' + n + "}"
    with server.client("portal") as c:
        r = c.post("/v1/recommendations", content=body, headers=JSON)
    _is_clear_client_error(r)


def test_the_largest_n_is_served_within_its_bound(server: Server) -> None:
    with server.client("portal") as c:
        r = c.post(
            "/v1/recommendations",
            json={"partner_id": "P0001", "context": {"stage": "negotiation"}, "n": 50},
        )
    assert r.status_code == 200 and 0 < len(r.json()["items"]) <= 50


# --- path traversal -------------------------------------------------------------------------
TRAVERSALS = ["..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%5C..%5Cwin.ini",
              "%2e%2e", "..%252F..%252Fetc%252Fpasswd", "A0001%00.json", "..%00",
              "%2Fetc%2Fpasswd", "A0001%0d%0aSet-Cookie:%20x=1", "....%2F%2F"]  # fmt: skip
TRAVERSAL_CALLS = [
    ("GET", "/v1/assets/{}", "portal"),
    ("PUT", "/v1/assets/{}", "admin"),
    ("DELETE", "/v1/assets/{}", "admin"),
    ("GET", "/v1/partners/{}", "portal"),
    ("PUT", "/v1/partners/{}", "admin"),
    ("POST", "/v1/models/{}/promote", "admin"),
    ("DELETE", "/v1/overrides/{}", "manager"),
    ("GET", "/console/static/{}", None),
]


@pytest.mark.parametrize(("method", "template_", "scope"), TRAVERSAL_CALLS,
                         ids=[f"{m} {p}" for m, p, _ in TRAVERSAL_CALLS])  # fmt: skip
def test_path_traversal_in_ids_never_reaches_the_disk(
    server: Server, unchanged: None, method: str, template_: str, scope: str | None
) -> None:
    body = {"title": "t", "type": "battlecard", "summary": "s", "name": "n"}
    with server.client(scope) as c:
        for bad in TRAVERSALS:
            url = template_.format(bad)
            kwargs: dict[str, Any] = {"json": body} if method == "PUT" else {}
            r = c.request(method, url, **kwargs)
            if r.status_code in (307, 308):  # Starlette's trailing-slash redirect: same server
                location = urlsplit(r.headers["location"])
                assert location.netloc in ("", server.url.removeprefix("http://")), location
                continue
            assert r.status_code in (400, 404, 405, 422), (url, r.status_code, r.text[:200])
            assert "root:" not in r.text and "set-cookie" not in {h.lower() for h in r.headers}


def test_a_document_path_cannot_be_given_through_the_api(server: Server, unchanged: None) -> None:
    with server.client("admin") as c:
        for document in ("/etc/passwd", "../../console.sqlite", "file:///etc/passwd"):
            r = c.put(
                "/v1/assets/doc-1",
                json={"title": "t", "type": "battlecard", "summary": "s", "document": document},
            )
            _is_clear_client_error(r, allowed=(422,))
        assert c.get("/v1/assets/doc-1").status_code == 404


# --- malicious documents, ingested while the server runs ------------------------------------
def test_malicious_documents_are_refused_while_the_server_keeps_serving(
    server: Server, unchanged: None, tmp_path: Path
) -> None:
    from tests.recommender.conftest import build_docx, build_pdf, build_zip_bomb

    folder = tmp_path / "docs"
    folder.mkdir()
    meta = {"type": "white_paper", "language": "en", "summary": "looks harmless"}
    (folder / "bomb.docx").write_bytes(build_zip_bomb(build_docx(["Hi."]), entry_bytes=60 << 20))
    (folder / "script.pdf").write_bytes(
        build_pdf(
            ["Open me."],
            catalog_extra="/OpenAction 6 0 R",
            objects=["<< /S /JavaScript /JS (app.alert\\(1\\)) >>"],
        )
    )
    with (folder / "huge.pdf").open("wb") as fh:  # sparse: no disk, no time
        fh.write(build_pdf(["big"]))
        fh.truncate(26 * 1024 * 1024)
    for name in ("bomb.docx", "script.pdf", "huge.pdf"):
        (folder / f"{name}.meta.json").write_text(json.dumps({**meta, "title": name}))
    before = httpx.get(f"{server.url}/readyz", timeout=30).json()

    result = subprocess.run(
        [sys.executable, "-c", CLI, "--workspace", str(server.workspace.root), "ingest",
         str(folder)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "RECO_EMBEDDER_THREADS": "1"},
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    for name, reason in (("bomb.docx", "zip bomb"), ("script.pdf", "JavaScript"),
                         ("huge.pdf", "the limit is")):  # fmt: skip
        assert any(name in line and reason in line for line in result.stderr.splitlines()), (
            name,
            result.stderr,
        )
    assert "nothing was written" in result.stderr
    after = httpx.get(f"{server.url}/readyz", timeout=30).json()
    assert after["assets"] == before["assets"]
    with server.client("portal") as c:
        r = c.post(
            "/v1/recommendations", json={"partner_id": "P0001", "context": {"stage": "discovery"}}
        )
        assert r.status_code == 200


# --- formula injection ----------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A2)",
            "\t=1", "=cmd|' /C calc'!A0"]  # fmt: skip


def test_formulas_are_stored_verbatim_and_exported_as_text(server: Server, tmp_path: Path) -> None:
    from recommender.storage.event_files import export_csv
    from recommender.storage.events import EventJournal

    events = [
        {"event_id": f"formula-{i}", "ts": "2026-01-06T10:00:00Z", "type": "impression",
         "partner_id": "P0001", "asset_id": "A0001", "request_id": text, "position": i}
        for i, text in enumerate(FORMULAS)
    ]  # fmt: skip
    with server.client("portal") as c:
        r = c.post("/v1/events", json={"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == len(FORMULAS), r.text
    with EventJournal(server.workspace.events_path) as journal:
        stored = journal.read(types=["impression"])
        stored = stored[stored["event_id"].str.startswith("formula-")]
        # Stored as sent (the contract trims surrounding whitespace from text, nothing else).
        assert sorted(stored["request_id"]) == sorted(f.strip() for f in FORMULAS)
        out = export_csv(journal, tmp_path / "events.csv")
    with out.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["event_id"].startswith("formula-")]
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert sorted(r["request_id"] for r in rows) == sorted("'" + f.strip() for f in FORMULAS)


def test_the_server_logged_no_unhandled_error(server: Server) -> None:
    """Run last in this module: nothing above may have been a 500 in disguise."""
    text = server.log_text()
    assert "unhandled error" not in text, text[-3000:]
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    assert not [x for x in metrics.splitlines() if 'status="5' in x and not x.startswith("#")]
