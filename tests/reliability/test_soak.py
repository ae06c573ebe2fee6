"""A short run of the soak (`python -m bench.soak`): the same code as the 5-minute run.

Twenty seconds of mixed load on a real server over loopback (a copy of the template
workspace): no 5xx, no transport error, every acknowledged event journaled exactly once, and a
graceful stop. Memory is sampled and reported but not judged here: a 20-second run has no
steady state to compare with; the 300-second run in the README judges it.
"""

from __future__ import annotations

import pytest

from tests.support import Template


@pytest.mark.slow
def test_a_short_soak_serves_without_errors_and_loses_no_event(template: Template) -> None:
    from bench.soak import run

    result = run(
        seconds=20,
        workspace=template.workspace.root,
        reco_rate=15,
        event_rate=5,
        quiet=True,
    )
    checks = result["checks"]
    assert checks["no 5xx"] and checks["no transport error"], result
    assert result["events"]["acknowledged"] > 200
    assert result["events"]["lost"] == 0 and result["events"]["doubled"] == 0, result["events"]
    assert checks["every batch accepted"] and checks["clean shutdown"], result
    assert result["statuses"].get("reco:200", 0) > 100
    assert result["rss_mb"]["samples"] >= 15 and result["rss_mb"]["end"] > 0
