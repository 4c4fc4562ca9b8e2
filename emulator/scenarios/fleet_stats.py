"""What ``fleet run`` measures: per request kind, the outcomes by DUIS code and the latency in
HDR histograms (per second and for the run); the requests in flight, so that a fault's recovery
time and anything lost can be told; and the report (JSON and a human summary)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emulator.scenarios.hdr import Histogram

PERCENTILES = (50.0, 95.0, 99.0)


def latency_ms(h: Histogram) -> dict[str, float | int]:
    """count, p50/p95/p99 and max in milliseconds (histograms hold microseconds)."""
    out: dict[str, float | int] = {"count": h.total}
    for p in PERCENTILES:
        out[f"p{p:g}_ms"] = round(h.percentile(p) / 1000, 2)
    out["max_ms"] = round(h.max / 1000, 2)
    return out


@dataclass(slots=True)
class KindStats:
    srv: str
    expect: str
    sent: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    run: Histogram = field(default_factory=Histogram)
    second: Histogram = field(default_factory=Histogram)

    def done(self) -> int:
        return sum(self.codes.values())


@dataclass(slots=True)
class FaultRecord:
    kind: str
    at_s: float                      # seconds into the load
    affected: frozenset[int]         # premises
    started: float = 0.0             # loop time of the fault
    #: Requests to the affected premises in flight at the fault or begun before it was over
    #: (broker back, worker back and its premises installed again), not finished yet.
    waiting: set[int] = field(default_factory=set)
    over: bool = False               # the fault's action is done (not yet: the fleet recovered)
    over_at: float = 0.0
    last_waited: float = 0.0
    recovered: float | None = None
    dsp_resends0: int = 0
    load_resends0: int = 0
    dsp_resends: int = 0
    load_resends: int = 0
    detail: str = ""

    def note_done(self, token: int, now: float) -> None:
        """A request ended (answered or given up): recovered once the fault is over and every
        request it caught (in flight at the fault, or begun before it was over) has ended."""
        if self.recovered is not None or not self.started:
            return
        if token in self.waiting:
            self.waiting.discard(token)
            self.last_waited = now
        if self.over and not self.waiting:
            self.recovered = max(self.last_waited, self.over_at)

    def to_dict(self) -> dict[str, Any]:
        return {"fault": self.kind, "at_s": self.at_s, "premises_affected": len(self.affected),
                "recovery_s": round(self.recovered - self.started, 3) if self.recovered is not None else None,
                "dsp_resends": self.dsp_resends, "load_resends": self.load_resends, "detail": self.detail}


@dataclass(slots=True)
class Tracker:
    """Requests in flight (token -> premises, start, the mix row's target) and the run's outcome counts."""

    kinds: dict[str, KindStats]
    inflight: dict[int, tuple[int, float, str]] = field(default_factory=dict)
    faults: list[FaultRecord] = field(default_factory=list)
    accepted: int = 0
    lost: int = 0            # accepted, and no right answer in the end (after any re-sends)
    unexpected: Counter[str] = field(default_factory=Counter)  # "kind code" not as the mix expects
    resends: int = 0         # requests the load generator sent again after a transport failure
    _next: int = 0

    def begin(self, premises: int, now: float, target: str = "") -> int:
        self._next += 1
        self.inflight[self._next] = (premises, now, target)
        for f in self.faults:
            if not f.over and premises in f.affected:
                f.waiting.add(self._next)
        return self._next

    def end(self, token: int, kind: str, code: str, accepted: bool, now: float) -> None:
        _, began, _ = self.inflight.pop(token)
        stats = self.kinds[kind]
        stats.codes[code] += 1
        ok = code == stats.expect
        if ok:
            micros = max(0, int((now - began) * 1e6))
            stats.run.record(micros)
            stats.second.record(micros)
        else:
            self.unexpected[f"{kind} {code}"] += 1
        if accepted:
            self.accepted += 1
            if not ok:
                self.lost += 1
        for f in self.faults:
            f.note_done(token, now)

    def fault(self, record: FaultRecord, now: float, dsp_resends: int) -> None:
        record.started = now
        record.waiting = {t for t, (p, _, _) in self.inflight.items() if p in record.affected}
        record.last_waited = now
        record.dsp_resends0, record.load_resends0 = dsp_resends, self.resends
        self.faults.append(record)

    def fault_over(self, record: FaultRecord, now: float) -> None:
        """The fault's action is done; recovery ends when what it caught is answered and a new
        request to an affected premises is answered right."""
        record.over, record.over_at = True, now
        record.note_done(0, now)

    def close_faults(self, dsp_resends: int) -> None:
        for f in self.faults:
            f.dsp_resends = dsp_resends - f.dsp_resends0
            f.load_resends = self.resends - f.load_resends0

    def done(self) -> int:
        return sum(k.done() for k in self.kinds.values())

    def errors_by_code(self) -> dict[str, int]:
        codes: Counter[str] = Counter()
        for k in self.kinds.values():
            for code, n in k.codes.items():
                if code != k.expect:
                    codes[code] += n
        return dict(sorted(codes.items()))


def second_record(t: int, tracker: Tracker, done_before: int, sent: int) -> dict[str, Any]:
    """The per-second line of the report; resets the per-second histograms."""
    done = tracker.done()
    kinds: dict[str, Any] = {}
    for name, k in tracker.kinds.items():
        if k.second.total:
            kinds[name] = latency_ms(k.second)
        k.second = Histogram(k.second.digits)
    return {"t": t, "sent": sent, "done": done, "per_s": done - done_before, "in_flight": len(tracker.inflight),
            "latency": kinds}


def in_flight_to(tracker: Tracker, target: str) -> int:
    """Requests in flight to a mix target (``gsme``, say)."""
    return sum(1 for _, _, t in tracker.inflight.values() if t == target)


def progress_line(rec: dict[str, Any], errors: int, alerts: int) -> str:
    worst = max((v["p99_ms"] for v in rec["latency"].values()), default=0.0)
    return (f"fleet run {rec['t']:>4d} s: {rec['sent']:,} sent, {rec['done']:,} done, {rec['per_s']:,}/s, "
            f"in flight {rec['in_flight']:,}, worst p99 {worst:g} ms, errors {errors:,}, alerts {alerts:,}")


def summary_text(report: dict[str, Any]) -> str:
    """The human summary of a report."""
    s, m, t = report["start"], report["memory"], report["throughput"]
    lines = [
        f"fleet run: {report['premises']:,} premises, {report['workers']} workers, seed {report['seed']}, "
        f"broker {report['broker']}",
        f"start: broker {s['broker_s']} s, hubs ready {s['hubs_ready_s']} s, commissioned {s['commissioned_s']} s "
        f"({s['commission_failures']} failed)",
        f"memory: workers {m['workers_rss_mb']} MB now, {m['workers_peak_mb']} MB peak; "
        f"{m['kb_per_premises']} KB per premises; DSP {m['dsp_rss_mb']} MB",
        f"load: {t['sent']:,} sent in {t['load_s']} s at {t['target_rate']}/s asked: {t['done']:,} done, "
        f"{t['per_s']}/s; accepted {report['accepted']:,}, lost {report['lost']:,}",
        f"counters: {report['counters']['lost']} unanswered, {report['counters']['reordered']} re-ordered, "
        f"{report['counters']['duplicates']} duplicates; alerts {report['alerts']['received']:,} "
        f"({report['alerts']['reordered']} re-ordered)",
        f"retries: DSP re-sent {report['retries']['dsp_resends']:,}, load generator re-sent "
        f"{report['retries']['load_resends']:,}",
    ]
    if "cpu" in report:
        ms = report["cpu"]["ms_per_request"]
        lines.append(f"CPU per request: DSP + load {ms['dsp']} ms, broker {ms['broker']} ms, "
                     f"workers {ms['workers']} ms")
        per = report["cpu"].get("ms_per_message")
        if per and per != ms:  # alerts in the mix: the CPU over requests and alerts together
            lines.append(f"CPU per message (requests and alerts): DSP + load {per['dsp']} ms, "
                         f"broker {per['broker']} ms, workers {per['workers']} ms")
    lines.append("latency (ms)      count     p50     p95     p99     max")
    for name, v in report["latency"].items():
        lines.append(f"  {name:<26s}{v['count']:>7,d} {v['p50_ms']:>7g} {v['p95_ms']:>7g} {v['p99_ms']:>7g} "
                     f"{v['max_ms']:>7g}")
    lines.extend(_alert_lines(report["alerts"].get("driven")))
    if report["errors_by_code"]:
        lines.append("errors by DUIS code: " + ", ".join(f"{c} {n}" for c, n in report["errors_by_code"].items()))
    for f in report["faults"]:
        rec = f"{f['recovery_s']} s" if f["recovery_s"] is not None else "NOT recovered"
        lines.append(f"fault {f['fault']} at {f['at_s']:g} s: recovery {rec}, DSP re-sends {f['dsp_resends']}, "
                     f"load re-sends {f['load_resends']} ({f['detail']})")
    return "\n".join(lines)


def _alert_lines(driven: dict[str, Any] | None) -> list[str]:
    """The alerts the mix had raised (fleet_alerts.py): totals, then raise -> DSP latency per code."""
    if not driven:
        return []
    lines = [f"alerts raised by the mix: {driven['raised']:,} of {driven['asked']:,} asked "
             f"({driven['not_raised']:,} not raised); at the DSP {driven['at_dsp']:,}, acknowledged "
             f"{driven['acknowledged']:,}, delivered {driven['delivered']:,} (to the user {driven['to_user']:,}), "
             f"discarded {driven['discarded']:,}, lost {driven['lost']:,}"
             + (f" ({driven['lost_with_killed_worker']:,} with a killed worker)"
                if driven["lost_with_killed_worker"] else "")]
    if driven["unexpected"]:
        lines.append("alerts not as the mix expects: " + ", ".join(f"{k} {n}" for k, n in driven["unexpected"].items()))
    lines.append("alert raise->DSP (ms) count     p50     p95     p99     max")
    for code, v in driven["codes"].items():
        lat = v["latency"]
        lines.append(f"  {code:<19s}{lat['count']:>7,d} {lat['p50_ms']:>7g} {lat['p95_ms']:>7g} {lat['p99_ms']:>7g} "
                     f"{lat['max_ms']:>7g}")
    return lines
