"""The journeys end to end from the command line, as users run them (issue: UIT, SIT, MP121)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emulator.transport.broker import find_mosquitto

EXE = [sys.executable, "-m", "emulator"]
UIT_REJECTED = [
    "ESME:4.1.1", "ESME:4.1.2", "ESME:4.1.3", "ESME:4.4.2", "ESME:4.4.3", "ESME:4.6.1", "ESME:4.8.1",
    "ESME:4.8.2", "ESME:4.12.1", "ESME:4.14", "ESME:4.16", "ESME:4.17", "GSME:4.1.1", "GSME:4.1.2",
    "GSME:4.1.4", "GSME:4.4.2", "GSME:4.4.3", "GSME:4.6.1", "GSME:4.8.1", "GSME:4.14", "GSME:4.17",
]


def _run(journey: str, tmp: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    out = {k: tmp / f"{journey}.{k}" for k in ("json", "xml", "pcap", "jsonl")}
    r = subprocess.run([*EXE, "run", journey, "--report", str(out["json"]), "--junit", str(out["xml"]),
                        "--pcap", str(out["pcap"]), "--trace", str(out["jsonl"]), "--keys", str(tmp / "keys"),
                        "--quiet", *extra], capture_output=True, text=True, timeout=600)
    report = json.loads(out["json"].read_text()) if out["json"].exists() else {}
    return r, report


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed (./dev.sh installs it)")
def test_uit_journey_over_the_embedded_mosquitto(tmp_path: Path):
    r, report = _run("uit", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert report["ok"] and report["journey"] == "uit" and "PASSED" in r.stdout
    assert report["summary"]["broker"].startswith("embedded mosquitto")
    steps = report["steps"]
    assert len(steps) == 24 and all(s["ok"] for s in steps)
    for s in steps:
        assert {"id", "name", "requirements", "ok", "detail", "duration_s"} <= set(s)
    # RM-4 as the requirement states it (consumption reads, as a supplier may send them to each meter),
    # written here rather than taken from the catalogue the journey reads.
    for s in steps:
        if s["id"].endswith(".rejected"):
            assert s["detail"].split(": ", 1)[1].split() == UIT_REJECTED, s["detail"]
    reqs = {r for s in steps for r in s["requirements"]}
    assert {"RM-1", "RM-2", "RM-4", "RM-5", "RM-6", "RM-7", "RM-10", "IC-2", "DV-5"} <= reqs
    suite = ET.parse(tmp_path / "uit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "24" and suite.get("failures") == "0"
    # The trace's frames verify with the keys written beside it.
    lines = [json.loads(x) for x in (tmp_path / "uit.jsonl").read_text().splitlines()]
    assert {x["link"] for x in lines} == {"wan", "han"}
    sample = "\n".join(x["hex"] for x in lines[:40])
    dec = subprocess.run([*EXE, "gbcs", "decode", "--keys", str(tmp_path / "keys")], input=sample,
                         capture_output=True, text=True, timeout=300)
    rows = [json.loads(x) for x in dec.stdout.splitlines()]
    assert rows and all("error" not in row for row in rows)
    assert sum(row["mac"] == "valid" for row in rows) > 0 and not any(row["mac"] == "invalid" for row in rows)
    if shutil.which("tshark"):
        out = subprocess.run(["tshark", "-r", str(tmp_path / "uit.pcap"), "-T", "fields", "-e", "frame.protocols"],
                             capture_output=True, text=True, timeout=300).stdout
        assert "zbee_zcl_se.tun" in out and "zbee_zcl_general.ota" in out


def test_sit_matrix_is_generated_and_passes(tmp_path: Path):
    r, report = _run("sit", tmp_path, "--broker", "memory")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    summary = report["summary"]
    assert summary["srv_matrix_cases"] > 700 and summary["alert_cases"] == 188
    assert summary["sit_cases"] == len(report["steps"]) and report["ok"]
    assert any(k.startswith("E72/R/pass") for k in summary["matrix_table"])


def test_mp121_change_of_supplier_journey(tmp_path: Path):
    r, report = _run("mp121", tmp_path, "--broker", "memory")
    assert r.returncode == 0, r.stdout + r.stderr
    assert report["ok"] and {s["id"] for s in report["steps"]} >= {"no-code", "wrong-code", "exchange",
                                                                   "credentials", "losing-refused"}


def test_a_failing_step_fails_the_run_with_exit_code_1(tmp_path: Path):
    from emulator.clock import run as run_loop
    from emulator.devices.profile import PremisesProfile
    from emulator.scenarios.report import Recorder, check
    from emulator.scenarios.runner import RunOptions, run_journey

    async def journey(world, rec: Recorder) -> None:  # type: ignore[no-untyped-def]
        with rec.step("x", "a step that fails"):
            check(False, "deliberately")

    report = run_loop(run_journey(RunOptions("t", broker="memory", quiet=True), [PremisesProfile()], journey))
    assert not report.ok and report.steps[0].detail == "deliberately"


def test_same_seed_same_frames(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for d in (a, b):
        _run("mp121", d, "--broker", "memory")
    assert (a / "mp121.jsonl").read_bytes() == (b / "mp121.jsonl").read_bytes()
    assert (a / "mp121.pcap").read_bytes() == (b / "mp121.pcap").read_bytes()
