"""Journey reports: steps with requirement ids, as JSON, JUnit XML and readable text."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TextIO

from emulator.zigbee.jsonvalue import JsonObject


@dataclass(slots=True)
class Step:
    id: str
    name: str
    requirements: list[str]
    ok: bool = False
    detail: str = ""
    duration_s: float = 0.0
    virtual_duration_s: float = 0.0
    skipped: str = ""
    """Why the step does not apply (it neither passed nor failed); empty when it ran."""


class StepFailed(Exception):
    """Raised inside a step to fail it with a message (the journey goes on where it can)."""


class StepNotApplicable(Exception):
    """Raised inside a step that does not apply here (JUnit ``skipped``), with the reason."""


@dataclass(slots=True)
class Report:
    journey: str
    seed: int = 0
    virtual_time: bool = True
    steps: list[Step] = field(default_factory=list)
    summary: JsonObject = field(default_factory=dict)
    started_wall: float = 0.0
    wall_s: float = 0.0
    virtual_s: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_dict(self) -> JsonObject:
        passed = sum(s.ok for s in self.steps)
        summary = {"steps": len(self.steps), "passed": passed, "failed": len(self.steps) - passed,
                   "wall_s": round(self.wall_s, 3), "virtual_s": round(self.virtual_s, 3),
                   "virtual_time": self.virtual_time, "seed": self.seed, **self.summary}
        return {"journey": self.journey, "ok": self.ok,
                "steps": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(s).items()}
                          for s in self.steps],
                "summary": summary}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_junit(self) -> str:
        suite = ET.Element("testsuite", name=f"smets2-emu.{self.journey}", tests=str(len(self.steps)),
                           failures=str(sum(not s.ok for s in self.steps)), errors="0",
                           skipped=str(sum(bool(s.skipped) for s in self.steps)),
                           time=f"{self.wall_s:.3f}")
        for s in self.steps:
            case = ET.SubElement(suite, "testcase", classname=f"{self.journey}", name=f"{s.id} {s.name}",
                                 time=f"{s.duration_s:.4f}")
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="requirements", value=",".join(s.requirements))
            if s.skipped:
                ET.SubElement(case, "skipped", message=s.skipped)
            elif not s.ok:
                failure = ET.SubElement(case, "failure", message=s.detail[:200] or "failed")
                failure.text = s.detail
            elif s.detail:
                out = ET.SubElement(case, "system-out")
                out.text = s.detail
        suites = ET.Element("testsuites")
        suites.append(suite)
        return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"

    def to_text(self) -> str:
        lines = [f"Journey {self.journey}: {'PASSED' if self.ok else 'FAILED'}"
                 f"  ({sum(s.ok for s in self.steps)}/{len(self.steps)} steps,"
                 f" {self.wall_s:.2f} s wall, {self.virtual_s:.0f} s {'virtual' if self.virtual_time else 'real'})"]
        width = max((len(s.id) for s in self.steps), default=4)
        for s in self.steps:
            mark = "n/a " if s.skipped else "ok  " if s.ok else "FAIL"
            reqs = f" [{', '.join(s.requirements)}]" if s.requirements else ""
            lines.append(f"  {mark} {s.id:<{width}}  {s.name}{reqs}")
            if s.detail and (not s.ok or len(s.detail) < 100):
                lines.append(f"       {' ' * width}  {s.detail}")
        for key, value in self.summary.items():
            if isinstance(value, str | int | float):
                lines.append(f"  {key}: {value}")
        return "\n".join(lines) + "\n"


class Progress:
    """A progress bar on a terminal, plain lines otherwise (CI logs)."""

    def __init__(self, stream: TextIO, total: int | None = None) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.tty = stream.isatty()

    def update(self, step: Step) -> None:
        self.done += 1
        if self.tty and self.total:
            width = 30
            filled = int(width * self.done / self.total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {step.id:<12}")
            if self.done == self.total:
                self.stream.write("\n")
        elif not self.tty:
            self.stream.write(f"{'ok  ' if step.ok else 'FAIL'} {step.id} {step.name}\n")
        self.stream.flush()


class Recorder:
    """Runs steps into a :class:`Report`, timing them on the wall clock and the emulator clock."""

    def __init__(self, report: Report, now: Callable[[], float], progress: Progress | None = None) -> None:
        self.report = report
        self.now = now
        self.progress = progress

    @contextmanager
    def step(self, id: str, name: str, requirements: list[str] | None = None) -> Iterator[Step]:
        s = Step(id=id, name=name, requirements=requirements or [])
        wall, virt = time.perf_counter(), self.now()
        try:
            yield s
            s.ok = True
        except StepFailed as e:
            s.ok, s.detail = False, str(e)
        except StepNotApplicable as e:
            s.ok, s.skipped = True, str(e)
        except Exception as e:  # a journey step must report, not crash the journey
            s.ok, s.detail = False, f"{type(e).__name__}: {e}"
        finally:
            s.duration_s = time.perf_counter() - wall
            s.virtual_duration_s = self.now() - virt
            self.report.steps.append(s)
            if self.progress:
                self.progress.update(s)


def check(condition: bool, message: str) -> None:
    """Fail the current step with ``message`` unless ``condition`` holds."""
    if not condition:
        raise StepFailed(message)
