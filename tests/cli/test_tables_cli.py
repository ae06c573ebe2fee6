"""`recommender partners import` and `recommender deals import` as a user runs them on a CRM
export: every format, upsert by id, `--replace`, and bad files refused with the file, row,
column and reason while the stored table stays byte for byte as it was; and the warning
`train` gives when events name deals that are not stored."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from cli.main import main
from recommender.learning.train import deal_warnings
from recommender.storage.deals import unknown_deals

PARTNERS_CSV = """partner_id,name,tier,maturity,type,industries,regions,languages,\
certified_products,joined_at
P1,ПП «Смарт Індастрі»,registered,new,integrator,banking;telecom,ua,uk;ru,,2025-10-16
P2,Brightwave GmbH,silver,advanced,integrator,telecom,dach,en,secure-link,2020-04-29
"""


def cli(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--workspace", str(root), *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_partners_import_upserts_by_id_and_replaces_on_request(root: Path, tmp_path: Path) -> None:
    code, out, err = cli(root, "partners", "import", str(write(tmp_path / "p.csv", PARTNERS_CSV)))
    assert code == 0, err
    assert out.strip() == "imported 2 partners (2 new, 0 updated); 2 partners stored"
    update = tmp_path / "p.jsonl"
    rows = [
        {"partner_id": "P2", "name": "Brightwave", "tier": "gold", "maturity": "advanced",
         "type": "integrator", "languages": ["en", "uk"]},
        {"partner_id": "P3", "name": "Kyiv Data", "tier": "silver", "maturity": "developing",
         "type": "reseller"},
    ]  # fmt: skip
    write(update, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    code, out, err = cli(root, "partners", "import", str(update))
    assert code == 0, err
    assert out.strip() == "imported 2 partners (1 new, 1 updated); 3 partners stored"
    stored = pd.read_parquet(root / "partners.parquet").set_index("partner_id")
    assert sorted(stored.index) == ["P1", "P2", "P3"]
    assert stored.loc["P2", "tier"] == "gold" and list(stored.loc["P2", "languages"]) == [
        "en",
        "uk",
    ]
    assert list(stored.loc["P1", "industries"]) == ["banking", "telecom"]
    parquet = tmp_path / "only.parquet"
    pd.DataFrame(rows[1:]).to_parquet(parquet)
    code, out, _ = cli(root, "partners", "import", str(parquet), "--replace")
    assert code == 0 and out.strip().endswith("; 1 partners stored")
    assert list(pd.read_parquet(root / "partners.parquet")["partner_id"]) == ["P3"]


def test_a_bad_partner_file_changes_nothing(root: Path, tmp_path: Path) -> None:
    assert cli(root, "partners", "import", str(write(tmp_path / "p.csv", PARTNERS_CSV)))[0] == 0
    before = (root / "partners.parquet").read_bytes()
    bad = write(
        tmp_path / "bad.csv",
        PARTNERS_CSV.replace("silver", "diamond") + "P1,x,gold,new,integrator,,,,,\n",
    )
    code, out, err = cli(root, "partners", "import", str(bad))
    assert code == 2 and out == ""
    assert f"{bad}, row 2, column 'tier': 'diamond' is not a valid tier" in err
    assert "row 3" in err and "duplicate" in err
    assert (root / "partners.parquet").read_bytes() == before


DEALS = [
    {"deal_id": "D1", "partner_id": "P1", "stage": "solution", "industry": "manufacturing",
     "products": ["energy-optimizer"], "competitors": ["acme"],
     "notes": "Завод хоче менше платити за енергію", "language": "uk",
     "created_at": "2026-03-01T10:00:00Z"},
    {"deal_id": "D2", "partner_id": "P2", "stage": "negotiation", "size": 120000.0},
]  # fmt: skip


def test_deals_import_in_every_format_upserting_by_id(root: Path, tmp_path: Path) -> None:
    code, _, err = cli(root, "deals", "import", str(write(tmp_path / "d.jsonl", "")))
    assert code == 2 and "import partners first" in err
    assert cli(root, "partners", "import", str(write(tmp_path / "p.csv", PARTNERS_CSV)))[0] == 0
    jsonl = write(
        tmp_path / "d.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in DEALS)
    )
    code, out, err = cli(root, "deals", "import", str(jsonl))
    assert code == 0, err
    assert out.strip() == "imported 2 deals (2 new, 0 updated); 2 deals stored"
    csv = write(
        tmp_path / "d.csv",
        "deal_id,partner_id,stage,products\nD2,P2,closing,secure-link;field-service\nD3,P1,discovery,\n",
    )
    code, out, err = cli(root, "deals", "import", str(csv))
    assert code == 0, err
    assert out.strip() == "imported 2 deals (1 new, 1 updated); 3 deals stored"
    stored = pd.read_parquet(root / "deals.parquet").set_index("deal_id")
    assert stored.loc["D2", "stage"] == "closing"
    assert list(stored.loc["D2", "products"]) == ["secure-link", "field-service"]
    assert stored.loc["D1", "notes"] == DEALS[0]["notes"] and stored.loc["D1", "language"] == "uk"
    parquet = tmp_path / "d.parquet"
    pd.DataFrame(DEALS[:1]).to_parquet(parquet)
    code, out, _ = cli(root, "deals", "import", str(parquet), "--replace")
    assert code == 0 and list(pd.read_parquet(root / "deals.parquet")["deal_id"]) == ["D1"]


def test_a_deal_of_an_unknown_partner_or_stage_changes_nothing(root: Path, tmp_path: Path) -> None:
    assert cli(root, "partners", "import", str(write(tmp_path / "p.csv", PARTNERS_CSV)))[0] == 0
    good = write(tmp_path / "d.jsonl", json.dumps(DEALS[1]) + "\n")
    assert cli(root, "deals", "import", str(good))[0] == 0
    before = (root / "deals.parquet").read_bytes()
    bad = write(
        tmp_path / "bad.csv",
        "deal_id,partner_id,stage\nD5,P1,solution\nD6,P9,solution\nD7,P1,won\n",
    )
    code, out, err = cli(root, "deals", "import", str(bad))
    assert code == 2 and out == ""
    assert f"{bad}, row 2, column 'partner_id': 'P9' is not in the partner table" in err
    assert f"{bad}, row 3, column 'stage': 'won' is not a valid stage" in err
    assert (root / "deals.parquet").read_bytes() == before


def test_train_warns_of_events_naming_deals_it_does_not_know() -> None:
    events = pd.DataFrame({"deal_id": ["D1", "D2", None, "D9", "D9", ""]})
    deals = pd.DataFrame({"deal_id": ["D1", "D2"]})
    assert unknown_deals(events, deals) == (2, ["D9"])
    (line,) = deal_warnings(events, deals)
    assert line.startswith("2 events name 1 deals that are not stored (D9)")
    assert "recommender deals import FILE" in line
    (line,) = deal_warnings(events, pd.DataFrame(columns=["deal_id"]))
    assert line.startswith("no deals are stored, yet 4 events name 3 deals")
    assert deal_warnings(events[events["deal_id"].isin(["D1", "D2"])], deals) == []
    assert deal_warnings(pd.DataFrame({"deal_id": [None]}), pd.DataFrame(columns=["deal_id"])) == []
