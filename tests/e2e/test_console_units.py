"""The console's pieces without a server: labels, escaping, sessions, links, diffs, coverage.

These run in any environment (no Chromium, no embedder); the browser tests cover the pages.
"""

from __future__ import annotations

import re
import time
from datetime import UTC
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from recommender.storage.keys import KeyInfo
from service.console import analysis, i18n, session
from service.console.pages import env

CONSOLE = resources.files("service.console")
TEMPLATES = [p for p in (CONSOLE / "templates").iterdir() if p.name.endswith(".html")]
MODULES = [p for p in CONSOLE.iterdir() if p.name.endswith(".py")]


# --- labels -------------------------------------------------------------------------------------
def test_both_languages_have_exactly_the_same_labels() -> None:
    en, uk = i18n.tables()["en"], i18n.tables()["uk"]
    assert sorted(set(en) - set(uk)) == []
    assert sorted(set(uk) - set(en)) == []
    assert all(v.strip() for v in (*en.values(), *uk.values()))


def test_every_enum_value_has_a_label_in_both_languages() -> None:
    for lang in i18n.LANGS:
        missing = [k for k in i18n.enum_keys() if k not in i18n.tables()[lang]]
        assert missing == [], lang


def test_the_labels_are_locale_files_that_are_checked_when_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [p.name for p in (CONSOLE / "locales").iterdir() if p.name.endswith(".yaml")] != []
    english = dict(i18n.tables()["en"])
    ukrainian = {k: v for k, v in i18n.tables()["uk"].items() if k != "steer.title"}
    monkeypatch.setattr(i18n, "_read", lambda lang: english if lang == "en" else ukrainian)
    i18n.tables.cache_clear()
    try:
        with pytest.raises(i18n.LocaleError, match=r"uk\.yaml: missing \['steer\.title'\]"):
            i18n.tables()
        ukrainian["steer.title"] = "Керування {id}"
        with pytest.raises(i18n.LocaleError, match=r"placeholders differ .*'steer\.title'"):
            i18n.tables()
    finally:
        i18n.tables.cache_clear()


def test_a_label_that_yaml_reads_as_a_boolean_is_refused(tmp_path: Path) -> None:
    (tmp_path / "locales").mkdir()
    text = (CONSOLE / "locales" / "en.yaml").read_text(encoding="utf-8")
    assert "common.yes: 'yes'" in text  # quoted: unquoted, YAML reads a boolean
    broken = text.replace("common.yes: 'yes'", "common.yes: yes")
    (tmp_path / "locales" / "en.yaml").write_text(broken, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(i18n.resources, "files", lambda package: tmp_path)
        with pytest.raises(i18n.LocaleError, match=r"en\.yaml: .*\['common\.yes'\]"):
            i18n._read("en")


def test_ukrainian_labels_are_translated() -> None:
    en, uk = i18n.tables()["en"], i18n.tables()["uk"]
    # Only names that are the same in both languages may stay equal.
    same = sorted(k for k in en if en[k] == uk[k])
    assert same == ["lang.en", "lang.uk"]


def test_placeholders_match_between_languages() -> None:
    for key, text in i18n.tables()["en"].items():
        fields = set(re.findall(r"{(\w+)}", text))
        assert fields == set(re.findall(r"{(\w+)}", i18n.tables()["uk"][key])), key


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*TEMPLATES, *MODULES]:
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""\bt\(\s*['"]([a-z_.]+)['"]""", text))
    return {k for k in keys if not k.endswith((".", "_"))}  # prefixes: the families below


def test_every_label_the_templates_and_pages_use_exist() -> None:
    used = _used_keys()
    assert len(used) > 100
    assert sorted(k for k in used if k not in i18n.tables()["en"]) == []
    # Keys built from a prefix in the templates: every member of each family exists.
    families = {
        "nav.": ["preview", "compare", "steer", "coverage", "awareness", "models"],
        "keyscope.": ["manager", "admin"],
        "coverage.level.": ["none", "thin", "fair", "good"],
        "compare.dim.": ["maturity", "stage", "model"],
        "compare.model_": ["a", "b"],
        "lang.": list(i18n.LANGS),
    }
    for prefix, members in families.items():
        for lang in i18n.LANGS:
            assert all(prefix + m in i18n.tables()[lang] for m in members), prefix


def test_every_reason_code_of_the_engine_has_a_label() -> None:
    import inspect

    from recommender.ranking import reasons

    source = inspect.getsource(reasons)
    codes = set(re.findall(r'Reason\("([a-z_]+)"', source))
    assert codes and sorted(c for c in codes if f"reason.{c}" not in i18n.tables()["en"]) == []


def test_language_from_cookie_or_accept_language() -> None:
    assert i18n.lang_from_accept("uk-UA,uk;q=0.9,en;q=0.8") == "uk"
    assert i18n.lang_from_accept("de-DE,de;q=0.9") == "en"
    assert i18n.normalise_lang("fr") is None


# --- escaping -----------------------------------------------------------------------------------
def test_templates_autoescape_and_never_mark_text_safe() -> None:
    assert env.autoescape is True
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b", text) and "autoescape false" not in text, path.name
        assert "<script>" not in text and " style=" not in text, path.name  # the CSP forbids inline


def test_a_hostile_result_item_renders_as_text() -> None:
    item = {
        "asset_id": "X1",
        "title": "<script>alert(1)</script>",
        "type": "white_paper",
        "language": "en",
        "url": "javascript:alert(2)",
        "score": 0.5,
        "reasons": [{"code": "stage", "text": "<img src=x onerror=alert(3)>"}],
    }
    macros = env.get_template("_macros.html").make_module(
        {"t": lambda k, **kw: k, "label": lambda kind, v: v, "reason": lambda c: c}
    )
    html = str(macros.result_item(item, 1))  # type: ignore[attr-defined]
    assert "<script>" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(3)&gt;" in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("http://example.com", "http://example.com"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//evil.example/x", None),
        ("/relative", None),
        ("https://exa\nmple.com", None),
        (None, None),
        (float("nan"), None),
    ],
    ids=[
        "https",
        "http",
        "js",
        "js-case",
        "js-space",
        "data",
        "scheme-relative",
        "relative",
        "control-char",
        "none",
        "nan",
    ],
)
def test_only_plain_web_links_become_links(url: object, expected: str | None) -> None:
    assert analysis.safe_url(url) == expected  # type: ignore[arg-type]


# --- sessions and CSRF --------------------------------------------------------------------------
KEY = KeyInfo("0123456789ab", "manager", "m", "2026-01-01T00:00:00+00:00")


def test_a_session_expires_and_needs_its_key_with_a_console_scope() -> None:
    config = session.SessionConfig(secret="s" * 40, max_age=60, force_secure=False)
    value = session.issue(config, KEY)
    user = session.user_for(session.read(config, value), [KEY])
    assert user is not None and user.scope == "manager" and not user.is_admin
    assert session.read(config, value, now=time.time() + 30) is not None
    assert session.read(config, value, now=time.time() + 61) is None  # expired
    assert session.read(config, value[:-2] + "xx") is None  # tampered
    other = session.SessionConfig(secret="t" * 40, max_age=60, force_secure=False)
    assert session.read(other, value) is None  # another workspace's secret
    portal = KeyInfo(KEY.key_id, "portal", "m", KEY.created_at)
    assert session.user_for(session.read(config, value), [portal]) is None  # scope changed
    assert session.user_for(session.read(config, value), []) is None  # revoked or deleted


def test_the_workspace_secret_is_created_once_and_private(tmp_path: Path) -> None:
    first = session.workspace_secret(tmp_path)
    assert session.workspace_secret(tmp_path) == first and len(first) >= 32
    assert (tmp_path / session.SECRET_FILE).stat().st_mode & 0o077 == 0


def test_session_settings_come_from_settings_or_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECO_CONSOLE_SESSION_SECONDS", "120")
    config = session.session_config(SimpleNamespace(), tmp_path)
    assert config.max_age == 120
    config = session.session_config(SimpleNamespace(console_session_seconds=5), tmp_path)
    assert config.max_age == 5
    monkeypatch.delenv("RECO_CONSOLE_SESSION_SECONDS")
    assert session.session_config(SimpleNamespace(), tmp_path).max_age == 8 * 3600


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}, True),
        ({"host": "127.0.0.1:8000", "referer": "http://127.0.0.1:8000/console/steer"}, True),
        ({"host": "127.0.0.1:8000"}, True),  # no Origin/Referer: left to the token
        ({"host": "127.0.0.1:8000", "origin": "https://evil.example"}, False),
        ({"host": "127.0.0.1:8000", "origin": "null"}, False),
        ({"host": "127.0.0.1:8000", "referer": "https://evil.example/x"}, False),
    ],
    ids=["origin", "referer", "neither", "other-origin", "null-origin", "other-referer"],
)
def test_same_origin_check(headers: dict[str, str], ok: bool) -> None:
    assert session.same_origin(_request(headers)) is ok


def test_csrf_needs_the_session_token() -> None:
    user = session.ConsoleUser(key=KEY, csrf="token-123")
    request = _request({"host": "h", "origin": "http://h"})
    assert session.csrf_ok(request, user, "token-123")
    assert not session.csrf_ok(request, user, "token-124")
    assert not session.csrf_ok(request, user, None)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/steer?saved=1", "/console/steer?saved=1"),
        ("https://evil.example/console", "/console/preview"),
        ("//evil.example/console", "/console/preview"),
        ("/other", "/console/preview"),
        ("/console\\@evil", "/console/preview"),
        (None, "/console/preview"),
    ],
    ids=["inside", "absolute", "scheme-relative", "outside", "backslash", "none"],
)
def test_redirects_stay_inside_the_console(target: str | None, expected: str) -> None:
    assert session.safe_next(target) == expected


# --- compare and coverage -----------------------------------------------------------------------
def test_rank_diff_names_what_moved() -> None:
    diff = analysis.rank_diff(["a", "b", "c", "d"], ["b", "a", "e", "c"])
    right = {m.asset_id: (m.kind, m.delta) for m in diff.right}
    assert right == {"b": ("up", 1), "a": ("down", 1), "e": ("new", 0), "c": ("down", 1)}
    assert [m.kind for m in diff.left] == ["down", "up", "down", "out"]
    assert (diff.count("up"), diff.count("down"), diff.count("new"), diff.count("out")) == (
        1,
        2,
        1,
        1,
    )
    same = analysis.rank_diff(["a", "b"], ["a", "b"])
    assert same.count("same") == 2 and same.count("out") == 0


@pytest.mark.parametrize(
    ("count", "level"),
    [(0, "none"), (1, "thin"), (2, "thin"), (3, "fair"), (5, "fair"), (6, "good")],
)
def test_coverage_levels(count: int, level: str) -> None:
    assert analysis.coverage_level(count) == level


def test_coverage_reads_one_instant_the_same_in_any_time_zone(demo_workspace) -> None:
    """Coverage dates its deals with the serving clock. An hour before an asset is published
    (00:00 UTC) it is 01:00 the next day in Kyiv: read as a wall clock, that time would count
    the asset as published already."""
    from datetime import timedelta, timezone

    import pandas as pd

    from recommender import build_snapshot, get_embedder
    from service.console import analysis

    snapshot = build_snapshot(demo_workspace, embedder=get_embedder("e5"), use_model=False)
    published = pd.to_datetime(snapshot.catalog.assets["published_at"]).dropna()
    debut = published[published > published.min()].min().to_pydatetime()
    before_utc = (debut - timedelta(hours=1)).replace(tzinfo=UTC)
    before_kyiv = before_utc.astimezone(timezone(timedelta(hours=2)))
    assert before_kyiv.date() == debut.date()
    at_utc = analysis.coverage(snapshot, now=before_utc)
    assert analysis.coverage(snapshot, now=before_kyiv) == at_utc
    after = analysis.coverage(snapshot, now=before_utc + timedelta(hours=2))
    assert after.eligible > at_utc.eligible  # the debut is the hour that tells them apart


def test_coverage_for_an_industry_never_counts_more_than_without_one(demo_workspace) -> None:
    """Without an industry chosen, each asset's deal is in one of its own industries; choosing
    one only removes assets and never changes a score: every cell's assets for an industry
    are among the cell's assets for no industry (the pair features must follow the per-asset
    industries the coverage gives its batch, not the request-wide context it was built with)."""
    from recommender import build_snapshot, get_embedder
    from service.console import analysis

    snapshot = build_snapshot(demo_workspace, embedder=get_embedder("e5"), use_model=False)
    everything = analysis.coverage(snapshot)
    for industry in ("banking", "manufacturing", "retail"):
        chosen = analysis.coverage(snapshot, industry=industry)
        assert chosen.cells.keys() == everything.cells.keys()
        for key, cell in chosen.cells.items():
            assert set(cell.asset_ids) <= set(everything.cells[key].asset_ids), (industry, key)


def test_localisation_counts_families_partners_and_unread_impressions(tmp_path) -> None:
    """The localisation view's numbers against a count written out by hand over the families
    catalog (case studies in three languages, a battlecard in two, lone English assets) and
    three partners."""
    import json

    import pandas as pd

    from recommender import Workspace, build_snapshot, get_embedder, ingest
    from service.console import analysis
    from tests.family_catalog import family_rows

    ws = Workspace.at(tmp_path / "ws")
    source = tmp_path / "assets.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in family_rows()))
    embedder = get_embedder("e5")
    ingest(ws, [source], embedder=embedder, progress=False)
    partners = tmp_path / "partners.csv"
    partners.write_text(
        "partner_id,name,tier,maturity,type,languages\n"
        "UK,Ukrainian only,gold,advanced,integrator,uk\n"
        "RU,Russian only,gold,advanced,integrator,ru\n"
        "UKEN,Both,gold,advanced,integrator,uk;en\n"
        "NONE,Unknown,gold,advanced,integrator,\n",
        encoding="utf-8",
    )
    from recommender import import_partners

    import_partners(ws, partners)
    snapshot = build_snapshot(ws, embedder=embedder, use_model=False)
    impressions = pd.DataFrame(
        {
            "partner_id": ["UK", "UK", "UKEN", "RU", "NONE", "UK"],
            "asset_id": [
                "roi-storage",
                "battlecard-polar-en",
                "roi-storage",
                "roi-storage",
                "roi-storage",
                "onboarding-uk",
            ],
            "events": [3, 1, 5, 2, 7, 4],
        }
    )
    loc = analysis.localisation(snapshot, impressions)
    rows = {r.family: r for r in loc.rows}
    # complete: the three case-study families; the rest lack something
    assert loc.complete == 3 and loc.families == 3 + 1 + 2 + 2  # + battlecard, 2 sheets, 2 lone
    assert set(rows) == {"battlecard-polar", "gateway-datasheet", "gateway-datasheet-v2",
                         "roi-storage", "onboarding-uk"}  # fmt: skip
    battle = rows["battlecard-polar"]
    assert battle.languages == ("uk", "en") and battle.missing == ("ru",)
    assert battle.members == (("battlecard-polar-uk", "uk"), ("battlecard-polar-en", "en"))
    assert battle.partners == 1 and battle.shown == 1  # RU reads neither; UK saw the en one
    roi = rows["roi-storage"]
    assert roi.missing == ("uk", "ru") and roi.partners == 2 and roi.shown == 3 + 2
    assert rows["onboarding-uk"].partners == 1 and rows["onboarding-uk"].shown == 0
    assert [r.family for r in loc.rows][:1] == ["roi-storage"]  # 2 partners, most first
    by_shown = analysis.localisation(snapshot, impressions, sort="shown").rows
    assert [r.shown for r in by_shown] == sorted((r.shown for r in by_shown), reverse=True)
    by_title = analysis.localisation(snapshot, impressions, sort="title").rows
    assert [r.title.casefold() for r in by_title] == sorted(r.title.casefold() for r in by_title)
    with pytest.raises(ValueError, match="sort='nope'"):
        analysis.localisation(snapshot, impressions, sort="nope")
