"""The usage process hands its result over as a file of array bytes and a pickle that refers
to them (service.runtime.usage_process): what the worker maps answers exactly as the index
built in process, its arrays are writable and private, and the file is gone once mapped. The
workers of a host share a recent build, and build what they cannot take from another."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest

from recommender import (
    Snapshot,
    Workspace,
    asset_vectors,
    build_snapshot,
    build_usage,
    get_embedder,
)
from recommender.types import DealContext
from service.runtime.usage_process import (
    UsageProcess,
    _build_to_file,
    _load_from_file,
    share_directory,
)
from tests.support import Template, copy_workspace


@pytest.fixture
def workspace(template: Template, tmp_path: Path) -> tuple[Workspace, Snapshot]:
    """A fresh copy of the template workspace, and its snapshot (the playbook's: no usage)."""
    ws = copy_workspace(template, tmp_path / "ws")
    return ws, build_snapshot(ws, embedder=get_embedder("e5"), use_model=False)


def test_the_mapped_index_answers_as_the_one_built_in_process(
    template: Template, workspace: tuple[Workspace, Snapshot]
) -> None:
    ws, snapshot = workspace
    vectors = asset_vectors(snapshot.catalog, snapshot.table)
    settings = {"half_life_days": 10.0}
    reference = build_usage(ws, snapshot.table, vectors, settings, compact=True)

    head, path, spans = _build_to_file(ws, snapshot.table, vectors, settings)
    # the arrays travel beside the pickle, not in it
    assert len(head) < len(pickle.dumps(reference)) / 4
    assert spans and all(start % 64 == 0 for start, _ in spans)
    mapped = _load_from_file(head, path, spans)
    assert not os.path.exists(path)

    assert mapped.journal_position == reference.journal_position
    assert mapped.n_events == reference.n_events
    assert mapped.index.config == reference.index.config
    np.testing.assert_array_equal(mapped.asset_grid, reference.asset_grid)
    np.testing.assert_array_equal(mapped.popular_by_segment, reference.popular_by_segment)
    cands = np.arange(len(snapshot.table))
    day = 30000.0  # after the journal: what serving asks
    for partner_id in template.partner_ids[:8]:
        partner = snapshot.partners[partner_id]
        for stage in ("prospecting", "negotiation"):
            context = DealContext(stage=stage, deal_id="D3")
            got = mapped.features(partner, context, cands, day)
            want = reference.features(partner, context, cands, day)
            assert got.keys() == want.keys()
            for name in want:
                np.testing.assert_array_equal(got[name], want[name], err_msg=name)

    # writable, and a write stays in this process's copy of the pages
    grid = mapped.asset_grid
    assert grid.flags.writeable
    grid.flat[0] += 1.0
    assert grid.flat[0] == reference.asset_grid.flat[0] + 1.0


def test_a_file_that_cannot_be_read_is_still_removed(tmp_path: Path) -> None:
    path = tmp_path / "reco-usage-broken.bin"
    path.write_bytes(b"\0" * 16)
    with pytest.raises(pickle.UnpicklingError):
        _load_from_file(b"not a pickle", str(path), [(0, 16)])
    assert not path.exists()


def test_workers_share_a_recent_build_and_build_what_they_cannot_share(
    workspace: tuple[Workspace, Snapshot],
) -> None:
    ws, snapshot = workspace
    settings = {"half_life_days": 10.0}
    first, second = UsageProcess(share_seconds=60), UsageProcess(share_seconds=60)
    try:
        built = first(ws, snapshot, settings)
        assert (first.builds, first.shared) == (1, 0)
        # the other worker takes it: same features, no build of its own
        taken = second(ws, snapshot, settings)
        assert (second.builds, second.shared) == (0, 1)
        np.testing.assert_array_equal(taken.asset_grid, built.asset_grid)
        assert taken.journal_position == built.journal_position
        # a refresh of features as recent as the shared build wants newer ones: it builds
        second(ws, snapshot.with_changes(usage=taken), settings)
        assert (second.builds, second.shared) == (1, 1)
        # other settings, other features
        other = second(ws, snapshot, {"half_life_days": 3.0})
        assert (second.builds, second.shared) == (2, 1)
        assert other.index.config.half_life_days == 3.0
        directory = share_directory(ws)
        published = sorted(p.name for p in directory.iterdir())
        assert len(published) == 3 * 2 + 2  # (data, head) of three builds; two keys' meta
    finally:
        first.close()
        second.close()
    # each worker removes what it shared when it stops
    assert not directory.exists()


def test_an_expired_build_or_a_directory_others_can_write_is_not_taken(
    workspace: tuple[Workspace, Snapshot],
) -> None:
    ws, snapshot = workspace
    source = UsageProcess(share_seconds=0.5)
    try:
        source(ws, snapshot, None)
        time.sleep(0.6)
        source(ws, snapshot, None)  # its own build expired: built again
        assert (source.builds, source.shared) == (2, 0)
        directory = share_directory(ws)
        directory.chmod(0o777)
        before = sorted(directory.iterdir())
        source(ws, snapshot, None)  # a directory anyone can write: never read, nor written
        assert (source.builds, source.shared, source.fallbacks) == (3, 0, 0)
        assert sorted(directory.iterdir()) == before
        directory.chmod(0o700)
    finally:
        source.close()
    assert not directory.exists()
