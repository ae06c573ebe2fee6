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
