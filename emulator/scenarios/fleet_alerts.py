"""The alerts of ``fleet run``: each alert the load asks a worker to raise followed to the DSP.

One alert (by its GBCS originator and counter, what the worker says it raised) goes through:

* **asked**: the mix drew an alert row; the driver sent the worker a ``raise-alert`` line
  (alert_control.py), or could not (its worker is down): ``not_raised`` with the reason, as
  when the worker refuses (a meter not joined yet, after the worker was restarted);
* **raised**: the worker's device core raised it, at ``time.monotonic()`` in the worker;
* **at the DSP**: the frame came up on the DSP's WAN port (first copy; the CHF re-sends an
  alert the DSP has not acknowledged); latency raise -> DSP goes to HDR histograms per row;
* **acknowledged**: the DSP sent the hub its ``ack`` naming the alert's message id;
* **delivered** (the DSP's SAT log, and ``to_user``: the Service User was given it) or
  **discarded** (the diagnostics log only: a Restricted meter's alert that is not on the
  delivered list, RM-5) - read from the DSP's own log writes (:class:`AlertLogRepository`)
  and user deliveries, not inferred;
* **lost**: raised and never at the DSP by the end of the run (must be 0);
  ``lost_with_killed_worker`` says how many of those were raised, not yet sent up, by a worker
  a ``kill-worker`` fault killed (a real hub's alert store would survive that).

Every event may come before the worker's ``alert-raised`` line (the alert races the pipe):
what the DSP saw of an alert not yet claimed is kept (bounded) until the claim comes. An alert
is forgotten once it is settled (at the DSP, acknowledged, its outcome logged): a long run
holds only what is in flight.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from emulator.devices.alerts import alert_is_critical
from emulator.dsp.ageing import AgeingRepository
from emulator.dsp.events import AlertForUser
from emulator.gbcs import frames
from emulator.gbcs.errors import GbcsError
from emulator.scenarios.alert_control import AlertRaised, AlertRefused
from emulator.scenarios.fleet_stats import latency_ms
from emulator.scenarios.hdr import Histogram
from emulator.scenarios.load_mix import MixRow
from emulator.zigbee.jsonvalue import JsonObject

#: Alerts seen at the DSP and not (yet) claimed by a raise: kept this many (the rest are alerts
#: the load did not ask for, such as firmware receipts, or claims that will never come).
UNCLAIMED_KEPT = 10_000
#: Alert outcomes as the DSP logs them (RM-5).
LOG_OUTCOMES = {"sat": "delivered", "diagnostics": "discarded"}
NOT_SENT_WORKER_DOWN = "worker down"
NOT_ANSWERED_WORKER_KILLED = "worker killed before answering"

Key = tuple[str, int]  # (originator EUI, upper-case hex; GBCS counter)


def alert_key(gbcs: bytes) -> Key | None:
    """(originator, counter) of a GBCS alert frame; None if it does not decode."""
    try:
        msg = frames.decode(gbcs)
    except (GbcsError, ValueError):
        return None
    return msg.originator.hex().upper(), msg.counter


@dataclass(slots=True)
class AlertRowStats:
    """One alert row of the mix: what happened to the alerts it asked for."""

    code: int
    target: str
    expect: str
    asked: int = 0
    raised: int = 0
    not_raised: Counter[str] = field(default_factory=Counter)
    at_dsp: int = 0
    acknowledged: int = 0
    delivered: int = 0
    discarded: int = 0
    to_user: int = 0
    run: Histogram = field(default_factory=Histogram)
    second: Histogram = field(default_factory=Histogram)


@dataclass(slots=True)
class _Alert:
    row: str | None = None        # None: seen at the DSP, not claimed by a raise (yet)
    premises: int = -1
    raised_at: float | None = None
    arrived_at: float | None = None
    acked: bool = False
    outcome: str | None = None    # "delivered" | "discarded"
    to_user: bool = False


@dataclass(slots=True)
class _Kill:
    premises: range
    at: float


class AlertLedger:
    """The driver's book of the alerts it asked for (see the module docstring)."""

    def __init__(self, rows: Iterable[MixRow]) -> None:
        self.rows = {r.name: AlertRowStats(r.alert_code, r.target, r.expect) for r in rows if r.is_alert}
        self.unexpected: Counter[str] = Counter()   # "row outcome" not as the row expects
        self._asked: dict[int, tuple[str, int]] = {}  # id -> (row, premises), until the worker answers
        self._next = 0
        self._alerts: dict[Key, _Alert] = {}          # claimed, not settled
        self._unclaimed: OrderedDict[Key, _Alert] = OrderedDict()
        self._mids: dict[str, Key] = {}               # WAN message id -> alert, until acknowledged
        self._kills: list[_Kill] = []
        self.seconds_raised = 0
        self.seconds_at_dsp = 0

    # --- the driver's side ---------------------------------------------------------------------
    def ask(self, row: MixRow, premises: int) -> int:
        """A new alert of ``row`` at ``premises``: its id for the worker's ``raise-alert`` line."""
        self._next += 1
        self._asked[self._next] = (row.name, premises)
        self.rows[row.name].asked += 1
        return self._next

    def not_sent(self, ident: int, reason: str) -> None:
        asked = self._asked.pop(ident, None)
        if asked is not None:
            self.rows[asked[0]].not_raised[reason] += 1

    def on_reply(self, reply: AlertRaised | AlertRefused) -> None:
        """A worker's answer to ``raise-alert``."""
        asked = self._asked.pop(reply.id, None)
        if asked is None:
            return
        name, premises = asked
        stats = self.rows[name]
        if isinstance(reply, AlertRefused):
            stats.not_raised[reply.reason] += 1
            return
        key = (reply.device.upper(), reply.counter)
        a = self._unclaimed.pop(key, None) or _Alert()
        a.row, a.premises, a.raised_at = name, premises, reply.at
        self._alerts[key] = a
        stats.raised += 1
        self.seconds_raised += 1
        if a.arrived_at is not None:
            self._count_arrival(stats, a)
        if a.acked:
            stats.acknowledged += 1
        if a.outcome is not None:
            self._count_outcome(name, stats, a.outcome)
        if a.to_user:
            stats.to_user += 1
        self._settle(key, a)

    def worker_killed(self, premises: range, now: float) -> None:
        """A worker was killed at ``now`` (monotonic): what it was asked and never answered is not
        raised; what it raised and had not sent up is not waited for (it may yet arrive)."""
        self._kills.append(_Kill(premises, now))
        for ident, (name, p) in list(self._asked.items()):
            if p in premises:
                del self._asked[ident]
                self.rows[name].not_raised[NOT_ANSWERED_WORKER_KILLED] += 1

    # --- the DSP's side ------------------------------------------------------------------------
    def _get(self, key: Key) -> _Alert:
        a = self._alerts.get(key)
        if a is not None:
            return a
        a = self._unclaimed.get(key)
        if a is None:
            a = self._unclaimed[key] = _Alert()
            if len(self._unclaimed) > UNCLAIMED_KEPT:
                self._unclaimed.popitem(last=False)
        return a

    def arrived(self, device: bytes, counter: int, mid: str, now: float) -> None:
        """An alert frame came up on the DSP's port at ``now`` (monotonic)."""
        key = (device.hex().upper(), counter)
        a = self._get(key)
        if not a.acked:
            self._mids[mid] = key
            if len(self._mids) > 4 * UNCLAIMED_KEPT:  # ids of alerts whose ack never came (not ours)
                del self._mids[next(iter(self._mids))]
        if a.arrived_at is not None:
            return
        a.arrived_at = now
        if a.row is not None:
            self._count_arrival(self.rows[a.row], a)
            self._settle(key, a)

    def acknowledged(self, mids: Iterable[str]) -> None:
        """The DSP sent an ``ack`` naming these WAN message ids."""
        for mid in mids:
            key = self._mids.pop(mid, None)
            if key is None:
                continue
            a = self._get(key)
            if a.acked:
                continue
            a.acked = True
            if a.row is not None:
                self.rows[a.row].acknowledged += 1
                self._settle(key, a)

    def logged(self, log: str, record: JsonObject) -> None:
        """The DSP wrote ``record`` to its ``log`` (:class:`AlertLogRepository`)."""
        outcome = LOG_OUTCOMES.get(log)
        gbcs = record.get("gbcs")
        if outcome is None or "alert_code" not in record or not isinstance(gbcs, str):
            return
        key = alert_key(bytes.fromhex(gbcs))
        if key is None:
            return
        a = self._get(key)
        if a.outcome is not None:
            return
        a.outcome = outcome
        if a.row is not None:
            self._count_outcome(a.row, self.rows[a.row], outcome)
            self._settle(key, a)

    def user_told(self, user: str, item: object) -> None:
        """A DspService user listener: an alert given to the Service User."""
        if not isinstance(item, AlertForUser):
            return
        key = alert_key(bytes.fromhex(item.gbcs_hex))
        if key is None:
            return
        a = self._get(key)
        if a.to_user:
            return
        a.to_user = True
        if a.row is not None:
            self.rows[a.row].to_user += 1

    # --- counting --------------------------------------------------------------------------------
    def _count_arrival(self, stats: AlertRowStats, a: _Alert) -> None:
        assert a.arrived_at is not None and a.raised_at is not None
        stats.at_dsp += 1
        self.seconds_at_dsp += 1
        micros = max(0, int((a.arrived_at - a.raised_at) * 1e6))
        stats.run.record(micros)
        stats.second.record(micros)

    def _count_outcome(self, name: str, stats: AlertRowStats, outcome: str) -> None:
        if outcome == "delivered":
            stats.delivered += 1
        else:
            stats.discarded += 1
        if outcome != stats.expect:
            self.unexpected[f"{name} {outcome}"] += 1

    def _settle(self, key: Key, a: _Alert) -> None:
        if a.arrived_at is not None and a.acked and a.outcome is not None:
            self._alerts.pop(key, None)

    def _doomed(self, a: _Alert) -> bool:
        """Raised by a worker that was killed before the alert came up."""
        return a.raised_at is not None and any(a.premises in k.premises and a.raised_at <= k.at for k in self._kills)

    def waiting(self) -> int:
        """Alerts the run still waits for: asked and not answered, or raised and not settled
        (those a killed worker held are not waited for)."""
        return len(self._asked) + sum(1 for a in self._alerts.values() if not self._doomed(a))

    # --- the report ----------------------------------------------------------------------------
    def second_record(self) -> dict[str, Any]:
        """This second's figures (raised, at the DSP, latency per row); resets them."""
        latency: dict[str, Any] = {}
        for name, s in self.rows.items():
            if s.second.total:
                latency[name] = latency_ms(s.second)
            s.second = Histogram(s.second.digits)
        out = {"raised": self.seconds_raised, "at_dsp": self.seconds_at_dsp, "latency": latency}
        self.seconds_raised = self.seconds_at_dsp = 0
        return out

    def report(self) -> dict[str, Any]:
        """The whole run: totals, per row and per alert code (see the module docstring)."""
        lost: Counter[str] = Counter()
        with_killed: Counter[str] = Counter()
        unacked: Counter[str] = Counter()
        no_outcome: Counter[str] = Counter()
        for a in self._alerts.values():
            assert a.row is not None
            if a.arrived_at is None:
                lost[a.row] += 1
                if self._doomed(a):
                    with_killed[a.row] += 1
            elif not a.acked:
                unacked[a.row] += 1
            elif a.outcome is None:
                no_outcome[a.row] += 1
        rows: dict[str, Any] = {}
        codes: dict[str, tuple[dict[str, Any], Histogram]] = {}
        for name, s in self.rows.items():
            counts = {"asked": s.asked, "raised": s.raised, "not_raised": sum(s.not_raised.values()),
                      "at_dsp": s.at_dsp, "acknowledged": s.acknowledged, "delivered": s.delivered,
                      "discarded": s.discarded, "to_user": s.to_user, "lost": lost[name],
                      "lost_with_killed_worker": with_killed[name], "unacknowledged": unacked[name],
                      "no_outcome": no_outcome[name]}
            # Critical: device-signed, as GBCS frames this code from this meter (devices/alerts.py).
            critical = alert_is_critical(s.code, "GSME" if s.target == "gsme" else "ESME")
            rows[name] = {"code": f"0x{s.code:04X}", "target": s.target, "critical": critical, "expect": s.expect,
                          **counts,
                          "not_raised_why": dict(s.not_raised), "latency": latency_ms(s.run)}
            total, hist = codes.setdefault(f"0x{s.code:04X}", ({}, Histogram(s.run.digits)))
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
            hist.merge(s.run)
        totals: dict[str, int] = {}
        for r in rows.values():
            for k, v in r.items():
                if isinstance(v, int) and not isinstance(v, bool):
                    totals[k] = totals.get(k, 0) + v
        everything = Histogram()
        for s in self.rows.values():
            everything.merge(s.run)
        return {**totals, "unexpected": dict(sorted(self.unexpected.items())), "latency": latency_ms(everything),
                "rows": rows, "codes": {c: {**t, "latency": latency_ms(h)} for c, (t, h) in sorted(codes.items())}}


class AlertLogRepository(AgeingRepository):
    """The fleet DSP's bounded store, telling ``on_log`` of every log record it writes: the DSP's
    own SAT and diagnostics entries say what it did with each alert (RM-5)."""

    def __init__(self, on_log: Callable[[str, JsonObject], None] | None = None) -> None:
        super().__init__()
        self.on_log = on_log

    def log(self, name: str, record: JsonObject) -> None:
        super().log(name, record)
        if self.on_log is not None:
            self.on_log(name, record)
