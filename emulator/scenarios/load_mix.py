"""The fleet's SRV mix: a data file (``emulator/data/load_mix.csv``, or ``--mix FILE``) of request
kinds with weights, and the seeded sequence of (kind, premises) a load generator sends.

A row whose ``srv`` is ``alert`` is a device alert, not a request: the meter named by ``target``
(``esme``, ``gsme`` or ``restricted-esme``) of the premises drawn raises alert ``body`` (its code,
e.g. ``0x8F57``), and ``expect`` says what the DSP should do with it: ``delivered`` (to the
Service User and the SAT log) or ``discarded`` (a non-critical alert from a Restricted meter, to
the diagnostics log only: RM-5). Alerts share the weights, and the rate, with the requests.

A file that cannot be used is refused with one line naming the file, the line and what is
wrong (:class:`MixError`). The same seed always gives the same sequence (``random.Random``)."""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from emulator.gbcs import catalogue

HEADER = ("name", "weight", "srv", "target", "body", "expect")
#: Who a request goes to: a meter or hub of the premises drawn, or the DCC (a non-device SRV).
TARGETS = ("esme", "gsme", "chf", "restricted-esme", "dcc")
#: Bodies a row may name; the load generator builds each (an OTA image, a schedule).
BODIES = ("none", "firmware", "daily-read-schedule")
_CODE = re.compile(r"^[IEW]\d{1,3}$")
#: The ``srv`` of an alert row, who may raise one, and what the DSP may do with it (RM-5).
ALERT = "alert"
ALERT_TARGETS = ("esme", "gsme", "restricted-esme")
ALERT_OUTCOMES = ("delivered", "discarded")
_ALERT_CODE = re.compile(r"^0[xX][0-9A-Fa-f]{4}$")


class MixError(ValueError):
    """A mix file that cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class MixRow:
    name: str
    weight: float
    srv: str
    target: str
    body: str
    expect: str

    @property
    def is_alert(self) -> bool:
        return self.srv == ALERT

    @property
    def alert_code(self) -> int:
        """The alert code of an alert row (its ``body``)."""
        return int(self.body, 16)


def default_mix_text() -> str:
    return resources.files("emulator.data").joinpath("load_mix.csv").read_text()


def load_mix(path: Path | None = None) -> list[MixRow]:
    """The rows of ``path`` (the packaged default if None); :class:`MixError` on the first bad line."""
    if path is None:
        return parse_mix(default_mix_text(), "load_mix.csv")
    try:
        text = path.read_text()
    except OSError as e:
        raise MixError(f"mix file {path}: {e.strerror or e}") from None
    return parse_mix(text, str(path))


def parse_mix(text: str, source: str) -> list[MixRow]:
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise MixError(f"{source}: no header line ({','.join(HEADER)}) and no rows")
    head_no, head = lines[0]
    header = tuple(h.strip() for h in next(csv.reader(io.StringIO(head))))
    if header != HEADER:
        raise MixError(f"{source} line {head_no}: the header must be {','.join(HEADER)}, not {','.join(header)}")
    rows: list[MixRow] = []
    for n, line in lines[1:]:
        rows.append(_row(source, n, [c.strip() for c in next(csv.reader(io.StringIO(line)))], rows))
    if not rows:
        raise MixError(f"{source}: a header and no rows")
    return rows


def _row(source: str, n: int, cells: list[str], before: Sequence[MixRow]) -> MixRow:
    where = f"{source} line {n}"
    if len(cells) != len(HEADER):
        raise MixError(f"{where}: {len(cells)} columns, expected {len(HEADER)} ({','.join(HEADER)})")
    name, weight_text, srv, target, body, expect = cells
    if not name or any(r.name == name for r in before):
        raise MixError(f"{where}: name {name!r} is empty or used by an earlier row")
    try:
        weight = float(weight_text)
    except ValueError:
        raise MixError(f"{where}: weight {weight_text!r} is not a number") from None
    if not weight > 0 or weight == float("inf"):
        raise MixError(f"{where}: weight {weight_text} must be more than 0")
    if srv == ALERT:
        _alert_row(where, target, body, expect)
        return MixRow(name, weight, srv, target, body.upper().replace("0X", "0x"), expect)
    info = catalogue.srvs().get(srv)
    if info is None:
        raise MixError(f"{where}: SRV {srv!r} is not in the DUIS catalogue")
    if target not in TARGETS:
        raise MixError(f"{where}: target {target!r} is not one of {', '.join(TARGETS)}")
    if (target == "dcc") != info.non_device:
        what = "a non-device SRV needs target dcc" if info.non_device else "a device SRV cannot go to dcc"
        raise MixError(f"{where}: SRV {srv}: {what}")
    if body not in BODIES:
        raise MixError(f"{where}: body {body!r} is not one of {', '.join(BODIES)}")
    if not _CODE.match(expect):
        raise MixError(f"{where}: expect {expect!r} is not a DUIS response code such as I0 or E72")
    return MixRow(name, weight, srv, target, body, expect)


def _alert_row(where: str, target: str, body: str, expect: str) -> None:
    if target not in ALERT_TARGETS:
        raise MixError(f"{where}: an alert is raised by one of {', '.join(ALERT_TARGETS)}, not {target!r}")
    if not _ALERT_CODE.match(body) or int(body, 16) not in catalogue.alert_codes():
        raise MixError(f"{where}: alert code {body!r} is not a GBCS alert code such as 0x8F57")
    if expect not in ALERT_OUTCOMES:
        raise MixError(f"{where}: an alert expects {' or '.join(ALERT_OUTCOMES)}, not {expect!r}")


@dataclass(frozen=True, slots=True)
class Pick:
    row: MixRow
    premises: int


class LoadPlan:
    """The seeded sequence of requests: each a mix row by weight and a premises of the right kind
    (``restricted`` premises for ``restricted-esme`` rows, the others for the rest)."""

    def __init__(self, rows: Sequence[MixRow], seed: int, premises: int, restricted: Sequence[int] = ()) -> None:
        if premises < 1:
            raise ValueError("a load plan needs at least one premises")
        self.rows = list(rows)
        self.restricted = sorted(set(restricted))
        chosen = set(self.restricted)
        self.open = [i for i in range(premises) if i not in chosen]
        if not self.open:
            raise ValueError("every premises is Restricted: nothing is left for the unrestricted rows")
        if not self.restricted and any(r.target == "restricted-esme" for r in self.rows):
            raise ValueError("the mix sends to Restricted meters, and no premises is Restricted")
        self.cumulative = list(itertools.accumulate(r.weight for r in self.rows))
        self.rng = random.Random(f"fleet-load/{seed}")

    def __iter__(self) -> Iterator[Pick]:
        return self

    def __next__(self) -> Pick:
        row = self.rows[bisect.bisect_right(self.cumulative, self.rng.random() * self.cumulative[-1])]
        group = self.restricted if row.target == "restricted-esme" else self.open
        return Pick(row, group[self.rng.randrange(len(group))])


def restricted_premises(seed: int, premises: int, share: float) -> list[int]:
    """The premises whose meters are set Restricted at start: ``share`` of them, chosen by the seed
    (at least one when ``share`` > 0 and there are two premises or more, never all)."""
    if share <= 0 or premises < 2:
        return []
    count = min(premises - 1, max(1, round(share * premises)))
    return sorted(random.Random(f"fleet-restricted/{seed}").sample(range(premises), count))
