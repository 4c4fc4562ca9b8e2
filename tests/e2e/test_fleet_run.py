"""``fleet run`` end to end over the embedded mosquitto: two worker processes, the DSP and the
seeded mix for a few seconds; then each fault (a broker restart, a worker killed) with nothing
accepted lost. Deadlines, not fixed pauses: the run itself waits on its conditions."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator.scenarios.fleet_run import Fault, RunOptions, run_fleet
from emulator.transport.broker import find_mosquitto

pytestmark = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
#: A busy machine starts workers slowly: generous, so it is slower, not red.
LOADED_S = 240.0


def _run(**kw: Any) -> dict[str, Any]:
    options = RunOptions(premises=kw.pop("premises", 6), workers=2, rate=15.0, duration_s=kw.pop("duration_s", 5.0),
                         seed=3, resend_s=2.0, retry_for_s=90.0, gsme_wake_s=2.0, ready_timeout_s=LOADED_S,
                         commission_timeout_s=LOADED_S, **kw)
    lines: list[str] = []
    report = asyncio.run(run_fleet(options, lines.append))
    report["progress"] = lines
    return report


def _nothing_lost(report: dict[str, Any], killed: bool = False) -> None:
    assert report["start"]["commission_failures"] == 0
    assert report["accepted"] > 0
    assert report["lost"] == 0 and report["unfinished"] == 0, report["unexpected"]
    assert report["throughput"]["done"] == report["throughput"]["sent"]
    # The default mix has alerts: every one raised reached the DSP and was acknowledged (only a
    # killed worker may take with it one it had raised and not yet sent up).
    alerts = report["alerts"]["driven"]
    assert alerts["raised"] > 0 and alerts["unexpected"] == {}
    assert alerts["lost"] == (alerts["lost_with_killed_worker"] if killed else 0)
    assert alerts["acknowledged"] == alerts["at_dsp"] == alerts["raised"] - alerts["lost"]
    assert alerts["delivered"] + alerts["discarded"] == alerts["at_dsp"]


def test_fleet_run_ten_premises_two_workers(tmp_path: Path):
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "emulator", "fleet", "run", "--premises", "10", "--workers", "2",
                           "--duration", "4", "--rate", "20", "--seed", "5", "--gsme-wake", "2",
                           "--report", str(out)],
                          capture_output=True, text=True, timeout=2 * LOADED_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    _nothing_lost(report)
    assert report["premises"] == 10 and report["workers"] == 2 and report["restricted_premises"] == 1
    # The Restricted meter refuses consumption reads before the WAN (RM-4), and only those.
    assert set(report["requests"]["restricted-read"]["codes"]) <= {"E72"}
    assert report["errors_by_code"] == {}
    reads = report["latency"]["read-instantaneous"]
    assert reads["count"] > 0 and 0 < reads["p50_ms"] <= reads["p95_ms"] <= reads["p99_ms"] <= reads["max_ms"]
    assert report["counters"]["lost"] == 0 and report["counters"]["duplicates"] == 0
    assert report["memory"]["kb_per_premises"] > 0 and report["start"]["hubs_ready_s"] > 0
    assert len(report["seconds"]) >= 4 and all("latency" in s for s in report["seconds"])
    progress = [line for line in proc.stderr.splitlines() if line.startswith("fleet run ") and " s: " in line]
    assert 4 <= len(progress) <= 10 + LOADED_S  # one a second, not one a request
    assert "latency (ms)" in proc.stderr  # the human summary


def test_fleet_run_broker_restart_loses_nothing():
    report = _run(faults=[Fault("broker-restart", 1.5)])
    _nothing_lost(report)
    (fault,) = report["faults"]
    assert fault["fault"] == "broker-restart" and fault["recovery_s"] is not None
    assert fault["premises_affected"] == 6


def test_fleet_run_kill_worker_loses_nothing():
    report = _run(faults=[Fault("kill-worker", 1.5, worker=1)])
    _nothing_lost(report, killed=True)
    (fault,) = report["faults"]
    assert fault["fault"] == "kill-worker" and fault["recovery_s"] is not None and fault["premises_affected"] == 3
    # What the dead worker held was sent again: by the DSP's re-send rule, or by the load generator.
    assert fault["dsp_resends"] + fault["load_resends"] > 0


def test_fleet_run_refuses_a_fault_out_of_range():
    with pytest.raises(ValueError, match="workers are 0 to 1"):
        RunOptions(premises=4, workers=2, faults=[Fault("kill-worker", 1.0, worker=2)]).check()
    with pytest.raises(ValueError, match="not within --duration"):
        RunOptions(premises=4, workers=2, duration_s=5, faults=[Fault.parse("broker-restart@7")]).check()
    with pytest.raises(ValueError, match="expected broker-restart@SECONDS"):
        Fault.parse("reboot@3")
    assert Fault.parse("kill-worker@2.5:1") == Fault("kill-worker", 2.5, 1)
