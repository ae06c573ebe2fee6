"""Event files: importing CSV, JSONL and Parquet all-or-nothing, and exporting for analysts."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.validation import SchemaError
from recommender.storage import event_files
from recommender.storage.event_files import (
    ImportReport,
    export_csv,
    export_parquet,
    import_file,
    read_events_parquet,
)
from recommender.storage.event_rows import EVENT_COLUMNS
from recommender.storage.events import EventJournal
from tests.recommender.storage.event_samples import (
    FORMATS,
    KNOWN,
    T0,
    ev,
    mixed_events,
    write_events,
)

# ---- import ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS, ids=["csv", "jsonl", "parquet"])
def test_import_file_round_trips_every_format(tmp_path, journal, name):
    frame = pd.DataFrame(mixed_events(12))
    path = write_events(frame, tmp_path / name)
    report = import_file(journal, path, progress=False, **KNOWN)
    assert report == ImportReport(accepted=12, duplicates=0, source=str(path))
    with EventJournal(tmp_path / "direct.sqlite") as direct:
        direct.append(mixed_events(12))
        pd.testing.assert_frame_equal(journal.read(), direct.read(), check_dtype=False)


@pytest.mark.parametrize("name", FORMATS, ids=["csv", "jsonl", "parquet"])
def test_import_counts_duplicates_in_file_and_journal(tmp_path, journal, name):
    journal.append([ev(0)])
    frame = pd.DataFrame([ev(i) for i in range(10)] + [ev(3)])
    path = write_events(frame, tmp_path / name)
    report = import_file(journal, path, progress=False, chunk_size=4, **KNOWN)
    assert (report.accepted, report.duplicates) == (9, 2)
    assert journal.count() == 10


@pytest.mark.parametrize("name", FORMATS, ids=["csv", "jsonl", "parquet"])
def test_import_is_all_or_nothing_and_reports_every_problem(tmp_path, journal, name):
    journal.append([ev(100)])
    rows = [ev(i) for i in range(1, 11)]
    rows[2] = ev(3, type="click")  # row 3, first chunk
    rows[7] = ev(8, asset_id="a404")  # row 8, second chunk
    rows[8] = ev(9, type="impression", position=2)  # row 9, third chunk: no request_id
    path = write_events(pd.DataFrame(rows), tmp_path / name)
    with pytest.raises(SchemaError, match="3 problem") as caught:
        import_file(journal, path, progress=False, chunk_size=4, **KNOWN)
    problems = caught.value.problems
    assert [(p.source, p.row, p.column) for p in problems] == [
        (str(path), 3, "type"),
        (str(path), 8, "asset_id"),
        (str(path), 9, "request_id"),
    ]
    assert "unknown asset_id 'a404'" in str(caught.value)
    assert journal.count() == 1  # untouched, including the valid rows of the file
    assert list(journal.stage_dir.glob(".events-import-*")) == []  # staging cleaned up


def test_import_reports_unreadable_jsonl_lines_by_row(tmp_path, journal):
    path = tmp_path / "events.jsonl"
    path.write_text(
        json.dumps(ev(0)) + "\n{not json\n\n" + json.dumps(ev(2)) + "\n[1, 2]\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError) as caught:
        import_file(journal, path, progress=False, **KNOWN)
    # Blank lines are not records: "[1, 2]" is record 4. No "value is missing" noise.
    assert [(p.row, p.reason.split(" (")[0]) for p in caught.value.problems] == [
        (2, "not valid JSON"),
        (4, "expected one JSON object"),
    ]


def test_missing_column_is_reported_once_not_per_chunk(tmp_path, journal):
    frame = pd.DataFrame([ev(i) for i in range(9)]).drop(columns="partner_id")
    path = write_events(frame, tmp_path / "events.csv")
    with pytest.raises(SchemaError) as caught:
        import_file(journal, path, progress=False, chunk_size=2, **KNOWN)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}, column 'partner_id': required column is missing"
    ]


def test_import_csv_keeps_ids_as_text(tmp_path, journal):
    path = tmp_path / "events.csv"
    path.write_text("event_id,ts,type,partner_id,asset_id\n007,2026-03-01,open,042,a1\n")
    import_file(journal, path, progress=False, known_assets=None, known_partners=None)
    stored = journal.read().iloc[0]
    assert (stored["event_id"], stored["partner_id"]) == ("007", "042")


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("events.xlsx", ValueError, "cannot tell the format"),
        ("absent.csv", FileNotFoundError, "no such file"),
    ],
    ids=["unsupported-format", "missing-file"],
)
def test_import_rejects_unusable_paths(tmp_path, journal, name, error, match):
    path = tmp_path / name
    if name.endswith(".xlsx"):
        path.write_bytes(b"PK")
    with pytest.raises(error, match=match):
        import_file(journal, path, progress=False, known_assets=None, known_partners=None)


def test_import_shows_progress(tmp_path, journal, capsys):
    path = write_events(pd.DataFrame([ev(0)]), tmp_path / "events.csv")
    import_file(journal, path, progress=True, **KNOWN)
    assert "import events.csv" in capsys.readouterr().err


def _synthetic_parquet(path: Path, n: int, *, row_group: int) -> Path:
    rng = np.random.default_rng(0)
    table = pa.table(
        {
            "event_id": [f"e{i:06d}" for i in range(n)],
            "ts": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.integers(0, 90 * 86400, n), unit="s"),
            "type": np.where(np.arange(n) % 2 == 0, "open", "download"),
            "partner_id": [f"p{i}" for i in rng.integers(0, 50, n)],
            "asset_id": [f"a{i}" for i in rng.integers(0, 300, n)],
        }
    )
    pq.write_table(table, path, row_group_size=row_group)
    return path


def test_import_streams_a_large_file_in_chunks(tmp_path, journal, monkeypatch):
    n, chunk = 50_000, 5_000
    path = _synthetic_parquet(tmp_path / "big.parquet", n, row_group=chunk)
    seen: list[int] = []
    validate = event_files.validate

    def spy(frame, **kwargs):
        seen.append(len(frame))
        return validate(frame, **kwargs)

    monkeypatch.setattr(event_files, "validate", spy)
    report = import_file(
        journal,
        path,
        known_assets={f"a{i}" for i in range(300)},
        known_partners={f"p{i}" for i in range(50)},
        progress=False,
        chunk_size=chunk,
    )
    assert report.accepted == n
    assert journal.count() == n
    assert seen == [chunk] * (n // chunk)  # never more than one chunk in memory
    assert journal.read(columns=["ts"])["ts"].is_monotonic_increasing


def _import_peak(tmp_path: Path, n: int, chunk_size: int) -> int:
    """Peak Python allocations (bytes) while importing an n-row parquet file."""
    path = _synthetic_parquet(tmp_path / f"e{n}.parquet", n, row_group=500)
    with EventJournal(tmp_path / f"j{n}-{chunk_size}.sqlite") as journal:
        tracemalloc.start()
        try:
            import_file(
                journal,
                path,
                known_assets=None,
                known_partners=None,
                progress=False,
                chunk_size=chunk_size,
            )
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert journal.count() == n
    return peak


def test_import_memory_does_not_grow_with_file_size(tmp_path):
    # A 4x larger file peaks at about the same allocation (bounded by one chunk); reading the
    # whole file at once would need about 4x as much.
    _import_peak(tmp_path, 100, 500)  # warm-up: first-use caches are not per-row memory
    small, large = _import_peak(tmp_path, 1_500, 500), _import_peak(tmp_path, 6_000, 500)
    assert large < 1.6 * small, f"peak {large} B for 6000 rows vs {small} B for 1500 rows"


# ---- export ----------------------------------------------------------------------------------


def test_export_parquet_is_partitioned_by_date(tmp_path, journal):
    journal.append(mixed_events(12))  # every 7 hours from 2026-03-01 09:00: 4 days
    out = tmp_path / "export"
    files = export_parquet(journal, out)
    assert files == [out / f"date=2026-03-0{d}" / "part-0.parquet" for d in (1, 2, 3, 4)]
    assert all(f.is_file() for f in files)
    back = pd.read_parquet(out)
    assert sorted(back["event_id"]) == sorted(journal.read()["event_id"])
    by_date = back.assign(day=back["ts"].dt.strftime("%Y-%m-%d"))
    assert (by_date["day"] == by_date["date"].astype(str)).all()


def test_export_parquet_reads_back_in_journal_types(tmp_path, journal):
    journal.append(mixed_events(12))
    export_parquet(journal, tmp_path / "export")
    back = read_events_parquet(tmp_path / "export")
    assert back["date"].iloc[0] == "2026-03-01"
    assert back["ts"].dtype == "datetime64[us]"
    assert back["position"].dtype == "Int64"
    pd.testing.assert_frame_equal(back[list(EVENT_COLUMNS)], journal.read(), check_dtype=False)


def test_export_parquet_range_replaces_the_folder(tmp_path, journal):
    journal.append(mixed_events(12))
    out = tmp_path / "export"
    export_parquet(journal, out)
    files = export_parquet(journal, out, start="2026-03-02", end="2026-03-03")
    assert [f.parent.name for f in files] == ["date=2026-03-02"]
    assert sorted(p.name for p in out.iterdir()) == ["date=2026-03-02"]
    assert len(read_events_parquet(out)) == len(journal.read(start="2026-03-02", end="2026-03-03"))


def test_export_of_empty_journal_writes_no_files(tmp_path, journal):
    assert export_parquet(journal, tmp_path / "export") == []


def test_exported_dataset_can_be_imported_again(tmp_path, journal):
    journal.append(mixed_events(12))
    export_parquet(journal, tmp_path / "export")
    with EventJournal(tmp_path / "copy.sqlite") as copy:
        report = import_file(copy, tmp_path / "export", progress=False, **KNOWN)
        assert report.accepted == 12
        pd.testing.assert_frame_equal(copy.read(), journal.read(), check_dtype=False)


def test_read_events_parquet_requires_contract_columns(tmp_path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"event_id": ["e1"], "ts": [T0]}).to_parquet(path)
    with pytest.raises(SchemaError, match="column 'type': required column is missing"):
        read_events_parquet(path)


@pytest.mark.parametrize(
    "request_id",
    ['=HYPERLINK("http://evil.example","click")', "+1+2", "-2+3", "@SUM(A1:A9)"],
    ids=["equals-hyperlink", "plus", "minus", "at"],
)
def test_export_csv_neutralises_formulas(tmp_path, journal, request_id):
    journal.append(
        [
            ev(0, type="impression", request_id=request_id, position=0),
            ev(1, type="feedback", value=-1),
            ev(2, type="impression", request_id="safe-1", position=1),
        ]
    )
    path = export_csv(journal, tmp_path / "events.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["request_id"] for r in rows] == ["'" + request_id, "", "safe-1"]
    assert rows[1]["value"] == "-1.0"  # numbers stay numbers
    assert rows[0]["ts"] == "2026-03-01T09:00:00.000000Z"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"), ("ok=1", "ok=1"), (None, None)],
    ids=["tab", "carriage-return", "equals-inside", "missing"],
)
def test_neutralise_covers_every_owasp_prefix(cell, expected):
    assert event_files._neutralise(pd.Series([cell], dtype=object)).iloc[0] == expected


def test_csv_export_round_trips_through_import(tmp_path, journal):
    journal.append(mixed_events(12))
    path = export_csv(journal, tmp_path / "events.csv")
    with EventJournal(tmp_path / "copy.sqlite") as copy:
        assert import_file(copy, path, progress=False, **KNOWN).accepted == 12
        pd.testing.assert_frame_equal(copy.read(), journal.read(), check_dtype=False)
