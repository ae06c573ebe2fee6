"""Failed authentications: every 401 and 403 is audited, and a client address that keeps
failing (invalid or missing API keys, console sign-ins with a bad key) is refused with 429
before its key is looked at, until it has earned an attempt back; other addresses, and
valid keys of too low a scope, are not charged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.ratelimit import RateLimiter
from tests.service.helpers import Api
from tests.support import make_settings

BURST = 3
PER_MINUTE = 6.0  # one attempt back every 10 s


class Clock:
    """A monotonic clock the test moves by hand (the guard's `_now`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def guarded(api: Api) -> Iterator[tuple[TestClient, Any, Clock]]:
    """An app on the module's workspace with the guard on (BURST failures, PER_MINUTE back),
    its client at 10.0.0.1, and the guard's clock."""
    from service.app import create_app

    settings = make_settings(
        api.workspace, auth_failure_burst=BURST, auth_failures_per_minute=PER_MINUTE
    )
    app = create_app(settings)
    with TestClient(app, client=("10.0.0.1", 50000)) as client:
        clock = Clock()
        app.state.service.auth_guard._now = clock
        yield client, app, clock


def _audit(app: Any, action: str) -> list[dict[str, Any]]:
    from service.operations.audit import audit_log

    return [e for e in audit_log(app.state.service) if e["action"] == action]


def test_an_address_that_keeps_failing_is_refused_before_its_key_is_read(
    api: Api, guarded: tuple[TestClient, Any, Clock]
) -> None:
    client, app, clock = guarded
    before = len(_audit(app, "api.unauthorized"))
    wrong = {"X-API-Key": api.keys["portal"][:-2] + "xx"}
    codes = [client.get("/v1/assets/A0001", headers=wrong).status_code for _ in range(BURST - 1)]
    codes.append(client.get("/v1/assets/A0001").status_code)  # no key at all counts too
    assert codes == [401] * BURST
    # the address has used its attempts: even the right key is refused, with Retry-After
    good = {"X-API-Key": api.keys["portal"]}
    refused = client.get("/v1/assets/A0001", headers=good)
    assert refused.status_code == 429, refused.text
    assert "failed authentications" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    # every 401 is audited, naming the address, the request and why; the last one says for
    # how long the address is refused; the 429 is not (it is what keeps the log small)
    entries = _audit(app, "api.unauthorized")[: len(_audit(app, "api.unauthorized")) - before]
    assert len(entries) == BURST
    newest = entries[0]
    assert newest["actor"] == "anonymous (10.0.0.1)" and newest["target"] == "/v1/assets/A0001"
    assert newest["detail"]["reason"] == "no API key" and newest["detail"]["method"] == "GET"
    assert 0 < newest["detail"]["refused_for_seconds"] <= 10
    assert {e["detail"]["reason"] for e in entries[1:]} == {"invalid API key"}
    assert all("refused_for_seconds" not in e["detail"] for e in entries[1:])
    # another address is not refused
    other = TestClient(app, client=("10.0.0.2", 50000))
    assert other.get("/v1/assets/A0001", headers=good).status_code == 200
    # one attempt earned back after 10 s: the right key passes again
    clock.now += 10.0
    assert client.get("/v1/assets/A0001", headers=good).status_code == 200
    metrics = client.get("/metrics").text
    assert 'reco_auth_failures_total{status="429"} 1.0' in metrics
    assert 'reco_auth_failures_total{status="401"} 3.0' in metrics


def test_a_key_of_too_low_a_scope_is_audited_but_not_charged(
    api: Api, guarded: tuple[TestClient, Any, Clock]
) -> None:
    client, app, _ = guarded
    portal = {"X-API-Key": api.keys["portal"]}
    codes = [client.get("/v1/audit", headers=portal).status_code for _ in range(BURST + 2)]
    assert codes == [403] * (BURST + 2)
    entries = _audit(app, "api.forbidden")[: BURST + 2]
    assert len(entries) == BURST + 2
    assert entries[0]["actor"].startswith("key:")
    assert entries[0]["detail"] == {
        "status": 403,
        "reason": "needs scope admin",
        "method": "GET",
        "path": "/v1/audit",
        "client": "10.0.0.1",
    }
    assert client.get("/v1/assets/A0001", headers=portal).status_code == 200


def _sign_in(client: TestClient, key: str) -> Any:
    return client.post(
        "/console/login",
        data={"key": key, "next": "/console/preview"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )


def test_console_sign_ins_share_the_address_guard_and_are_audited(
    api: Api, guarded: tuple[TestClient, Any, Clock]
) -> None:
    client, app, clock = guarded
    refused = _sign_in(client, api.keys["portal"])  # a valid key that cannot use the console
    assert refused.status_code == 403
    assert _audit(app, "console.sign_in_refused")[0]["detail"]["reason"] == (
        "a portal key cannot use the console"
    )
    statuses = [_sign_in(client, "reco_manager_nope_nope").status_code for _ in range(BURST)]
    assert statuses == [401] * BURST
    failed = _audit(app, "console.sign_in_failed")
    assert len(failed) >= BURST and failed[0]["detail"]["client"] == "10.0.0.1"
    # now even the manager's key is refused, with the page saying why and for how long
    page = _sign_in(client, api.keys["manager"])
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert "Too many failed sign-ins" in page.text
    # the API shares the guard: the address is refused there too
    good = {"X-API-Key": api.keys["manager"]}
    assert client.get("/v1/assets/A0001", headers=good).status_code == 429
    clock.now += 10.0
    signed_in = _sign_in(client, api.keys["manager"])
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/preview"
    assert _audit(app, "console.sign_in")[0]["target"] in api.keys["manager"]


# --- the token buckets themselves ---------------------------------------------------------
def test_wait_looks_without_taking() -> None:
    limiter = RateLimiter(rate=1.0, burst=2)
    clock = Clock()
    limiter._now = clock
    assert limiter.wait("a") == 0.0 and len(limiter) == 0
    assert limiter.acquire("a") == 0.0 and limiter.acquire("a") == 0.0
    assert limiter.wait("a") == pytest.approx(1.0)
    assert limiter.wait("a") == pytest.approx(1.0)  # looking twice takes nothing
    clock.now += 0.25
    assert limiter.wait("a") == pytest.approx(0.75)
    assert limiter.acquire("a") == pytest.approx(0.75)  # refused: nothing taken either
    clock.now += 0.75
    assert limiter.acquire("a") == 0.0
    assert RateLimiter(rate=0, burst=1).wait("a") == 0.0  # disabled


def test_past_max_keys_full_buckets_are_forgotten_first_then_the_longest_unused() -> None:
    limiter = RateLimiter(rate=1.0, burst=3, max_keys=4)
    clock = Clock()
    limiter._now = clock
    for key in ("drained", "quiet-1", "quiet-2"):
        for _ in range(3):
            limiter.acquire(key)
        clock.now += 0.1
    clock.now += 3.5  # all three have refilled
    limiter.acquire("fresh")
    for _ in range(3):
        limiter.acquire("busy")  # the fifth key: the full buckets make room
    assert len(limiter) == 2 and limiter.wait("busy") > 0
    # forgetting a full bucket changes nothing: a new key starts full
    assert limiter.wait("quiet-1") == 0.0
    # with no full bucket to drop, the longest unused half goes
    small = RateLimiter(rate=0.001, burst=1, max_keys=2)
    small._now = clock
    small.acquire("old")
    clock.now += 1
    small.acquire("newer")
    clock.now += 1
    small.acquire("newest")
    assert small.wait("newer") > 0 and small.wait("newest") > 0
    assert small.wait("old") == 0.0 and len(small) == 2


def test_each_worker_keeps_its_share_so_the_limit_holds_in_total() -> None:
    """4 processes (2 workers x 2 replicas) behind an even spread: each takes a quarter of
    the rate and of the burst, so together they grant what one limiter of the total would."""
    clock = Clock()
    workers = [RateLimiter.share_of(8.0, 10, 4) for _ in range(4)]
    for w in workers:
        w._now = clock
    assert (workers[0].rate, workers[0].burst) == (2.0, 3)  # the burst rounds up
    granted = sum(w.acquire("k") == 0.0 for _ in range(10) for w in workers)
    assert granted == 12  # 4 x 3 at once (the total's 10, rounded up per worker)
    clock.now += 1.0
    assert sum(w.acquire("k") == 0.0 for _ in range(10) for w in workers) == 8  # 8/s in all
    assert RateLimiter.share_of(0, 5, 4).acquire("k") == 0.0  # disabled stays disabled


def test_the_service_shares_its_limits_out_over_workers_and_replicas(api: Api) -> None:
    from service.app import create_app

    settings = make_settings(
        api.workspace, workers=2, replicas=3, rate_limit_per_second=60, rate_limit_burst=12,
        auth_failures_per_minute=120, auth_failure_burst=30,
    )  # fmt: skip
    app = create_app(settings)
    with TestClient(app):
        state = app.state.service
        assert (state.limiter.rate, state.limiter.burst) == (10.0, 2)
        assert (state.auth_guard.rate, state.auth_guard.burst) == (pytest.approx(1 / 3), 5)
