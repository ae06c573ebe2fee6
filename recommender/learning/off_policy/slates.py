"""Logged slates: the impressions of each request with their slot, asset, propensities and
reward, as validated integer codes and arrays (`SlateLog`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike

# asset codes and positions stay below this, so (request, asset) keys fit in an int64
MAX_CODE = 2**31


# --------------------------------------------------------------------------- validation


def fmt(value: Any) -> str:
    """repr of a value for a message, numpy scalars as plain Python ones (0.5, not
    np.float64(0.5))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def as_codes(name: str, values: ArrayLike, *, signed: bool = False) -> np.ndarray:
    """A 1-D int64 array of codes (>= 0 and below 2**31 unless `signed`), or a ValueError
    quoting the bad value. The bound keeps (request, asset) keys inside int64."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} has shape {array.shape}; expected a 1-D array")
    if array.size == 0:
        return array.astype(np.int64)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"{name} has dtype {array.dtype}; expected integer codes (encode ids with "
            "pandas.factorize or numpy.unique(..., return_inverse=True))"
        )
    array = array.astype(np.int64, copy=False)
    if signed:
        return array
    if array.min() < 0:
        i = first_bad(array < 0)
        raise ValueError(f"{name}[{i}]={fmt(array[i])} is negative; expected codes >= 0")
    if array.max() >= MAX_CODE:
        i = first_bad(array >= MAX_CODE)
        raise ValueError(
            f"{name}[{i}]={fmt(array[i])} is not a dense code (expected < 2**31): encode ids "
            "with pandas.factorize"
        )
    return array


def as_floats(name: str, values: ArrayLike) -> np.ndarray:
    """A 1-D float64 array with no NaN or infinity, or a ValueError quoting the bad value."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold numbers: {exc}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} has shape {array.shape}; expected a 1-D array")
    if not np.isfinite(array).all():
        i = first_bad(~np.isfinite(array))
        raise ValueError(f"{name}[{i}]={fmt(array[i])} is not a finite number")
    return array


def check_propensity(name: str, p: np.ndarray) -> None:
    bad = (p <= 0.0) | (p > 1.0)
    if bad.any():
        i = first_bad(bad)
        raise ValueError(
            f"{name}[{i}]={fmt(p[i])} is outside (0, 1]; a logged impression was shown, so the "
            "logging policy gave it a probability above 0 and at most 1"
        )


# --------------------------------------------------------------------------- the log


@dataclass(frozen=True, eq=False)
class SlateLog:
    """Logged impressions as aligned 1-D arrays, one entry per impression, in any order.

    request           int code of the request (slate) an impression belongs to, any integer;
                      a request's impressions need not be consecutive
    position          0-based slot of the impression in its slate
    asset             int code of the asset shown, dense: 0 <= code < 2**31
    propensity        P(the logging policy put this asset in this slot | request), in (0, 1]
    reward            engagement that followed the impression: >= 0, 0/1 or graded
    propensity_shown  P(the logging policy showed this asset anywhere in the slate | request),
                      in [propensity, 1]; None when the logger did not record it: then an
                      asset is taken to appear only in the slot it was logged in
                      (propensity_shown = propensity, `shown_logged` False)

    Derived: `requests`, the sorted distinct request codes (row i of a target slate array is
    request `requests[i]`), and `request_index`, each impression's row in it. A request holds
    at most one impression per slot and shows an asset at most once.
    """

    request: np.ndarray
    position: np.ndarray
    asset: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray
    propensity_shown: np.ndarray | None = None
    requests: np.ndarray = field(init=False, repr=False)
    request_index: np.ndarray = field(init=False, repr=False)
    shown_logged: bool = field(init=False)

    def __post_init__(self) -> None:
        request = as_codes("request", self.request, signed=True)
        position = as_codes("position", self.position)
        asset = as_codes("asset", self.asset)
        propensity = as_floats("propensity", self.propensity)
        reward = as_floats("reward", self.reward)
        shown_logged = self.propensity_shown is not None
        shown = (
            as_floats("propensity_shown", self.propensity_shown)
            if self.propensity_shown is not None
            else propensity.copy()
        )
        lengths = {
            "request": request.size,
            "position": position.size,
            "asset": asset.size,
            "propensity": propensity.size,
            "reward": reward.size,
            "propensity_shown": shown.size,
        }
        if len(set(lengths.values())) != 1:
            raise ValueError(f"the arrays of a SlateLog must have one length; got {lengths}")
        if request.size == 0:
            raise ValueError("the log holds no impression")
        check_propensity("propensity", propensity)
        check_propensity("propensity_shown", shown)
        below = shown < propensity * (1.0 - 1e-9)
        if below.any():
            i = first_bad(below)
            raise ValueError(
                f"propensity_shown[{i}]={fmt(shown[i])} is below propensity[{i}]="
                f"{fmt(propensity[i])}; showing an asset anywhere is at least as likely as "
                "showing it in one slot"
            )
        if (reward < 0).any():
            i = first_bad(reward < 0)
            raise ValueError(f"reward[{i}]={fmt(reward[i])} is negative; expected rewards >= 0")
        requests, request_index = np.unique(request, return_inverse=True)
        _check_unique_pairs(request_index, position, requests, "position", "slot")
        _check_unique_pairs(request_index, asset, requests, "asset", "asset")
        for name, value in (
            ("request", request),
            ("position", position),
            ("asset", asset),
            ("propensity", propensity),
            ("reward", reward),
            ("propensity_shown", shown),
            ("requests", requests),
            ("request_index", request_index.astype(np.int64)),
            ("shown_logged", shown_logged),
        ):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def n_impressions(self) -> int:
        return int(self.request.size)

    @property
    def n_requests(self) -> int:
        return int(self.requests.size)

    @property
    def n_positions(self) -> int:
        """Slots seen in the log: the highest logged position + 1."""
        return int(self.position.max()) + 1

    @property
    def shown(self) -> np.ndarray:
        """propensity_shown as used: logged, or the slot propensity when it was not."""
        assert self.propensity_shown is not None  # filled in __post_init__
        return self.propensity_shown


def _check_unique_pairs(
    row: np.ndarray, value: np.ndarray, requests: np.ndarray, name: str, what: str
) -> None:
    width = int(value.max()) + 1
    keys = row * width + value
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        i = first[first_bad(counts > 1)]
        raise ValueError(
            f"request {fmt(requests[row[i]])} has {counts[counts > 1][0]} impressions with "
            f"{name}={fmt(value[i])} (first at index {i}); a slate holds one impression per {what}"
        )
