"""`bench all` measures the codec on one core and every other suite on all of them: the pinning
must not leak into the suites after the codec (nor into the processes they start)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from emulator.cli import bench


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two cores or more to tell pinned from not")
def test_only_the_codec_runs_pinned_and_the_cores_come_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = os.sched_getaffinity(0)
    seen: dict[str, int] = {}

    def fake_suite(name: str, seconds: float, premises: int, workers: int) -> dict[str, float]:
        seen[name] = len(os.sched_getaffinity(0))
        return {"x": 1.0}

    monkeypatch.setattr(bench, "_run_suite", fake_suite)
    try:
        args = argparse.Namespace(suite="all", seconds=0.1, out=tmp_path, premises=10, workers=1)
        assert bench._bench(args) == 0
        assert seen["codec"] == 1
        assert {name: n for name, n in seen.items() if name != "codec"} == {
            name: len(before) for name in ("han", "wan", "wan2", "radio", "duis", "fleet")}
        assert os.sched_getaffinity(0) == before
    finally:
        os.sched_setaffinity(0, before)
