"""bench.profiling: the summary a missed target carries names the function the time went to."""

from __future__ import annotations

from bench.profiling import profile_call


def _busy() -> int:
    return sum(i * i for i in range(200_000))


def test_profile_call_returns_the_result_and_names_the_hot_function():
    result, prof = profile_call(_busy, top=5, title="busy")
    assert result == sum(i * i for i in range(200_000))
    assert prof["text"].startswith("busy: ")
    assert any("(_busy)" in row["function"] for row in prof["by_cumulative"])
    assert any("tests/bench/test_profiling.py" in row["function"] for row in prof["by_cumulative"])
    assert len(prof["by_cumulative"]) <= 5
