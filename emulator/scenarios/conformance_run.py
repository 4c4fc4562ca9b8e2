"""Run a conformance check from options and write its reports (HTML, JUnit XML, JSON).

The hub runs on the profile's dongle (real time), or, with ``han="fake-znp"``, on the project's
fake ZNP stick with the emulated ESME as the device under test (virtual time; faults from
:mod:`emulator.devices.faults`), as CI runs it.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from emulator.clock import make_clock
from emulator.clock import run as run_loop
from emulator.devices.faults import Faults
from emulator.hardware import RadioProfile
from emulator.scenarios import conformance
from emulator.scenarios.bench_hub import start_bench
from emulator.scenarios.report import Progress, Recorder, Report, Step


@dataclass(slots=True)
class ConformanceOptions:
    settings: conformance.Settings
    profile: RadioProfile | None = None
    """The dongle; None with ``han="fake-znp"``."""
    han: str = "radio"
    faults: list[str] = field(default_factory=list)
    """Faults of the emulated device under test (fake-znp only)."""
    seed: int = 1
    html: Path | None = None
    junit: Path | None = None
    json: Path | None = None
    progress: Progress | None = None


async def run_conformance(opts: ConformanceOptions, clock_virtual: bool) -> Report:
    clock = make_clock(virtual=clock_virtual)
    report = Report("conformance", opts.seed, clock_virtual)
    rec = Recorder(report, clock.now, opts.progress)
    wall0, virt0 = time.perf_counter(), clock.now()
    device = opts.settings.device
    dut = None
    profile = opts.profile
    if opts.han == "fake-znp":
        from emulator.scenarios.dut import emulated_dut

        dut = await emulated_dut(clock, device, Faults.parse(opts.faults, device.kind), seed=opts.seed)
        profile = dut.profile
    assert profile is not None
    try:
        world = await start_bench(clock, profile, [device], seed=opts.seed)
        try:
            if dut is not None:
                dut.start()
            await conformance.run(world, rec, opts.settings)
        finally:
            await world.stop()
    finally:
        if dut is not None:
            await dut.stop()
    report.summary.update({"device": f"{device.kind} {device.eui.hex().upper()}", "radio": profile.source,
                           "journeys": ",".join(opts.settings.journeys),
                           "not_applicable": sum(bool(s.skipped) for s in report.steps)})
    if opts.faults:
        report.summary["faults"] = ",".join(opts.faults)
    report.wall_s = time.perf_counter() - wall0
    report.virtual_s = clock.now() - virt0
    if opts.html:
        opts.html.write_text(to_html(report), encoding="utf-8")
    if opts.junit:
        opts.junit.write_text(report.to_junit(), encoding="utf-8")
    if opts.json:
        opts.json.write_text(report.to_json(), encoding="utf-8")
    return report


def run_sync(opts: ConformanceOptions) -> Report:
    virtual = opts.han == "fake-znp"  # a real device lives on the wall clock
    return run_loop(run_conformance(opts, virtual), virtual=virtual)


def verdict(step: Step) -> str:
    return "not applicable" if step.skipped else "passed" if step.ok else "failed"


def to_html(report: Report) -> str:
    """One page: the verdict, the counts, then one row per use case with what differed."""
    counts = {v: sum(verdict(s) == v for s in report.steps) for v in ("passed", "failed", "not applicable")}
    html = ET.Element("html")
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "meta", charset="utf-8")
    ET.SubElement(head, "title").text = f"smets2-emu conformance: {report.summary.get('device', '')}"
    ET.SubElement(head, "style").text = (
        "body{font-family:sans-serif} table{border-collapse:collapse} td,th{border:1px solid #999;padding:2px 6px;"
        "vertical-align:top} .passed{background:#dfd} .failed{background:#fdd} .na{background:#eee}")
    body = ET.SubElement(html, "body")
    ET.SubElement(body, "h1").text = (f"Conformance of {report.summary.get('device', '?')}: "
                                      f"{'PASSED' if report.ok else 'FAILED'}")
    ET.SubElement(body, "p").text = (f"{counts['passed']} passed, {counts['failed']} failed, "
                                     f"{counts['not applicable']} not applicable; radio "
                                     f"{report.summary.get('radio', '?')}; {report.wall_s:.1f} s wall")
    table = ET.SubElement(body, "table")
    header = ET.SubElement(table, "tr")
    for title in ("case", "use case", "requirements", "verdict", "detail (expected vs received)"):
        ET.SubElement(header, "th").text = title
    for s in report.steps:
        v = verdict(s)
        row = ET.SubElement(table, "tr", {"class": "na" if s.skipped else v, "id": s.id})
        for text in (s.id, s.name, ", ".join(s.requirements), v, s.skipped or s.detail):
            ET.SubElement(row, "td").text = text
    return "<!DOCTYPE html>\n" + ET.tostring(html, encoding="unicode", method="html") + "\n"
