"""`recommender digest` on a copy of the service tests' workspace: a manager's partners in
Markdown with tracked links, recorded so that the next run does not repeat them; JSON for
one partner; --dry-run records nothing; unknown managers and partners are named."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from cli.main import main
from recommender.outreach.links import LinkSigner, link_key
from recommender.outreach.store import DigestStore
from recommender.steering.partners import load_partners
from recommender.workspace import Workspace
from tests.support import Template, copy_workspace


@pytest.fixture(scope="module")
def ws(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return copy_workspace(template, tmp_path_factory.mktemp("cli-digest") / "ws")


def cli(ws: Workspace, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--workspace", str(ws.root), "--models", str(ws.models_dir), *args])
    return code, out.getvalue(), err.getvalue()


def test_a_managers_digests_are_recorded_and_not_repeated(ws: Workspace, tmp_path: Path) -> None:
    partners = load_partners(ws)
    manager = sorted({p.manager for p in partners.values() if p.manager})[0]
    mine = sorted(pid for pid, p in partners.items() if p.manager == manager)
    out_file = tmp_path / "digest.md"
    args = ["--format", "md", "--n", "3", "--base-url", "https://reco.example.com"]
    code, out, err = cli(ws, "digest", "--manager", manager, *args, "--out", str(out_file))
    assert code == 0, err
    assert out.strip().startswith(f"{len(mine)} digests,") and "recorded as sent" in out
    text = out_file.read_text(encoding="utf-8")
    assert text.count("## ") == len(mine)
    links = [line.split("](", 1)[1].split(")", 1)[0] for line in text.splitlines() if "](" in line]
    assert links and all(link.startswith("https://reco.example.com/r/") for link in links)
    signer = LinkSigner(link_key(ws))
    claims = [signer.verify(link.rsplit("/", 1)[1]) for link in links]
    assert {c.partner_id for c in claims} <= set(mine)
    with DigestStore(ws.console_path) as store:
        first = {pid: store.sent(pid) for pid in mine}
        lasts = {pid: store.last(pid) for pid in mine}
        assert {c.source_id for c in claims} == {
            r.digest_id for pid, r in lasts.items() if r is not None and first[pid]
        }
    code, out, err = cli(ws, "digest", "--manager", manager, "--format", "json", "--n", "3")
    assert code == 0, err
    doc = json.loads(out)
    for digest in doc["digests"]:
        again = {item["asset_id"] for item in digest["items"]}
        assert not again & first[digest["partner_id"]]


def test_one_partner_dry_run_records_nothing(ws: Workspace) -> None:
    partner = sorted(load_partners(ws))[-1]
    with DigestStore(ws.console_path) as store:
        before = store.list([partner])
    code, out, err = cli(ws, "digest", "--partner", partner, "--format", "html", "--dry-run")
    assert code == 0, err
    assert f'data-partner-id="{partner}"' in out and "shown, not recorded" in err
    with DigestStore(ws.console_path) as store:
        assert store.list([partner]) == before


def test_unknown_manager_or_partner_is_named(ws: Workspace) -> None:
    code, _, err = cli(ws, "digest", "--manager", "Nobody Here")
    assert code == 2 and "no partner has manager 'Nobody Here'" in err and "managers in" in err
    code, _, err = cli(ws, "digest", "--partner", "P9999")
    assert code == 2 and "P9999" in err
    with pytest.raises(SystemExit):
        cli(ws, "digest", "--partner", "P0001", "--manager", "x")  # one or the other
