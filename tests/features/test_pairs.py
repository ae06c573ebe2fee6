"""Pair feature helpers: the one multi-hot encoder (catalog lists and partner/deal lists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from features.pairs import LANGUAGES, multi_hot

VOCAB = ("banking", "retail", "telecom")


def test_multi_hot_marks_each_rows_known_items() -> None:
    got = multi_hot([["retail"], ["telecom", "banking", "telecom"], [], ["mining"]], VOCAB)
    np.testing.assert_array_equal(
        got,
        [
            [False, True, False],
            [True, False, True],
            [False, False, False],
            [False, False, False],  # not in the vocabulary: ignored
        ],
    )
    assert got.dtype == bool


@pytest.mark.parametrize(
    "missing", [None, float("nan")], ids=["none", "nan-from-an-empty-parquet-cell"]
)
def test_a_missing_list_marks_nothing(missing: Any) -> None:
    got = multi_hot([missing, ["en"]], LANGUAGES)
    assert not got[0].any() and got[1, LANGUAGES.index("en")]


def test_items_compare_as_text_and_array_cells_work() -> None:
    got = multi_hot([np.array(["banking", "retail"], dtype=object), (1,)], ("1", *VOCAB))
    np.testing.assert_array_equal(got, [[False, True, True, False], [True, False, False, False]])


def test_no_rows_or_no_vocabulary_give_empty_shapes() -> None:
    assert multi_hot([], VOCAB).shape == (0, 3)
    assert multi_hot([["banking"]], ()).shape == (1, 0)


# ---- the two copies it replaced, verbatim ------------------------------------------------------


def _old_pairs_multi_hot(lists: Sequence[Sequence[str]], vocab: Sequence[str]) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(vocab)}
    out = np.zeros((len(lists), len(vocab)), dtype=bool)
    for row, items in enumerate(lists):
        for item in items if items is not None else ():
            col = lookup.get(str(item))
            if col is not None:
                out[row, col] = True
    return out


def _old_training_multi_hot(lists: Sequence[Any], vocab: Sequence[str]) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(vocab)}
    out = np.zeros((len(lists), len(vocab)), dtype=bool)
    for row, items in enumerate(lists):
        if items is None or isinstance(items, float):
            continue
        for item in items:
            col = lookup.get(str(item))
            if col is not None:
                out[row, col] = True
    return out


def test_multi_hot_equals_both_old_copies() -> None:
    rng = np.random.default_rng(3)
    words = [*VOCAB, "mining", "energy"]
    lists: list[Any] = [
        list(rng.choice(words, size=int(rng.integers(0, 4)))) for _ in range(200)
    ] + [None]
    np.testing.assert_array_equal(multi_hot(lists, VOCAB), _old_pairs_multi_hot(lists, VOCAB))
    with_nan = [*lists, float("nan")]
    np.testing.assert_array_equal(
        multi_hot(with_nan, VOCAB), _old_training_multi_hot(with_nan, VOCAB)
    )


def test_pair_columns_stack_once_per_feature_list_and_again_after_a_change() -> None:
    """`feature_matrix` on `PairColumns` gives what stacking the columns gives, shares one
    read-only matrix between callers asking for the same features, and stacks again for
    other features or after a column was replaced."""
    from features.pairs import PairColumns, feature_matrix

    rng = np.random.default_rng(3)
    plain = {name: rng.random(7).astype(np.float32) for name in ("a", "b", "c")}
    columns = PairColumns(plain)
    first = feature_matrix(columns, ("c", "a"))
    np.testing.assert_array_equal(first, np.column_stack([plain["c"], plain["a"]]))
    assert first.flags.c_contiguous and first.dtype == np.float32
    assert feature_matrix(columns, ("c", "a")) is first
    assert not first.flags.writeable
    np.testing.assert_array_equal(feature_matrix(plain, ("c", "a")), first)  # a plain dict
    other = feature_matrix(columns, ("a", "b"))
    np.testing.assert_array_equal(other, np.column_stack([plain["a"], plain["b"]]))
    columns["a"] = np.zeros(7, dtype=np.float32)
    again = feature_matrix(columns, ("a", "b"))
    assert again is not other
    np.testing.assert_array_equal(again[:, 0], np.zeros(7))


def test_one_context_columns_equal_the_per_pair_ones_on_the_demo_catalog() -> None:
    """`PairBatch.single` lets `pair_features` gather the table's columns for its one context
    instead of pairing per-pair arrays; every column must equal, bit for bit, what the
    per-pair path gives for the same batch (the same batch without `one`), over contexts
    that name nothing, one or several industries' worth of products and competitors,
    unknown roles and languages, an unknown stage code, and candidates in any order."""
    import dataclasses
    from pathlib import Path

    import pandas as pd

    from features.pairs import (
        DEPTHS,
        MATURITIES,
        ROLES,
        STAGES,
        TYPES,
        AssetTable,
        PairBatch,
        PlaybookMatrices,
        pair_features,
    )

    assets = pd.read_json(Path(__file__).parents[2] / "demo" / "data" / "assets.jsonl", lines=True)
    assets.loc[::13, "language"] = None  # some assets of no stated language
    table = AssetTable.from_frame(assets)
    assert (table.language_code == -1).sum() >= 20
    rng = np.random.default_rng(11)
    playbook = PlaybookMatrices(
        stage_type=rng.random((len(STAGES), len(TYPES))),
        maturity_depth=rng.random((len(MATURITIES), len(DEPTHS))),
        maturity_type=rng.random((len(MATURITIES), len(TYPES))),
    )
    checked = 0
    for k in range(60):
        pos = rng.permutation(len(table))[: rng.integers(1, len(table))]

        def some(vocab: Sequence[str], k: int = k) -> list[str]:
            return [v for v in vocab if rng.random() < 0.3] + (["unknown"] if k % 5 == 0 else [])

        batch = PairBatch.single(
            table,
            pos,
            stage=STAGES[k % len(STAGES)],
            maturity=MATURITIES[k % len(MATURITIES)],
            industry=None if k % 4 == 0 else table.industry_vocab[k % len(table.industry_vocab)],
            products=some(table.product_vocab),
            competitors=some(table.competitor_vocab),
            role=None if k % 3 == 0 else ROLES[k % len(ROLES)],
            languages=some(LANGUAGES),
            day=9000.0 + k,
            semantic=rng.random(len(pos)).astype(np.float32) if k % 2 else None,
            deal_language=None if k % 3 == 1 else LANGUAGES[k % len(LANGUAGES)],
        )
        if k % 7 == 0:  # a stage no log named (-1), in both forms
            batch.stage[:] = -1
            assert batch.one is not None
            batch = dataclasses.replace(batch, one=dataclasses.replace(batch.one, stage=-1))
        fast = pair_features(table, batch, playbook)
        slow = pair_features(table, dataclasses.replace(batch, one=None), playbook)
        assert list(fast) == list(slow)
        for name in slow:
            np.testing.assert_array_equal(fast[name], slow[name], err_msg=name)
            assert fast[name].dtype == slow[name].dtype == np.float32
        checked += int(fast["industry_match"].any() and fast["competitor_match"].any())
    assert checked >= 10  # the matches were not all empty
