"""Reports: the device extract (RM-6), monthly performance (RM-8), firmware monitoring
(RM-11), and the CSP stubs with their own monthly reports (RM-7, RM-7a)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from emulator.dsp.events import CspNotification
from emulator.dsp.jsondoc import number, text
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.repository import Repository
from emulator.zigbee.jsonvalue import Json, JsonObject, array

EXTRACT_FIELDS = ("eui", "device_type", "premises", "status", "restricted", "payment_mode", "firmware_version",
                  "responsible_supplier")


def device_extract_csv(repo: Repository) -> str:
    """The device extract with the Restricted indication (RM-6)."""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=EXTRACT_FIELDS, lineterminator="\n")
    w.writeheader()
    for d in sorted(repo.devices(), key=lambda d: d.eui):
        view = d.public_view()
        w.writerow({k: ("Y" if view[k] else "N") if k == "restricted" else view[k] for k in EXTRACT_FIELDS})
    return out.getvalue()


def monthly_report(repo: Repository, month_start: float, month_end: float) -> JsonObject:
    """Consumption-SR success for the month; Restricted devices are exceptions, excluded (RM-8)."""
    rows = [r for r in repo.read_log("responses")
            if month_start <= number(r, "time") < month_end and r.get("class") == "CONS"]
    restricted_now = {str(d.eui) for d in repo.devices() if d.restricted}
    excluded = [r for r in rows if r.get("restricted") or r.get("device") in restricted_now]
    counted = [r for r in rows if r not in excluded]
    ok = sum(1 for r in counted if r["ok"])
    rejections = [a for a in repo.read_log("audit") if a.get("what") == "restricted-rejection"
                  and month_start <= number(a, "time") < month_end]
    return {
        "period": [month_start, month_end],
        "consumption_requests": len(counted),
        "consumption_successes": ok,
        "consumption_success_rate": round(ok / len(counted), 4) if counted else None,
        "excluded_restricted_requests": len(excluded) + len(rejections),
        "exceptions": array(sorted(restricted_now)),
        "note": "Requests to Restricted devices (and their E72 rejections) are excluded from the consumption "
                "success measures as exceptions (MP169, RM-8).",
    }


def firmware_monitoring(repo: Repository, policy: RestrictedPolicy) -> list[JsonObject]:
    """Restricted devices whose firmware updates keep failing (RM-11)."""
    failures: dict[str, int] = {}
    for r in repo.read_log("firmware"):
        device = text(r, "device")
        if not r["ok"]:
            failures[device] = failures.get(device, 0) + 1
        else:
            failures[device] = 0
    out: list[JsonObject] = []
    for d in sorted(repo.devices(), key=lambda d: d.eui):
        n = failures.get(str(d.eui), 0)
        if d.restricted and n >= policy.firmware_failure_threshold:
            out.append({"device": str(d.eui), "consecutive_failures": n, "firmware_version": d.firmware_version})
    return out


@dataclass(slots=True)
class CspStub:
    """One Communications Service Provider (North, or Central & South): RM-7a, RM-8."""

    region: str
    indicators: dict[str, dict[str, bool]] = field(default_factory=dict)  # hub -> device -> restricted
    received: list[CspNotification] = field(default_factory=list)

    def notify(self, n: CspNotification) -> None:
        if n.region != self.region:
            raise ValueError(f"notification for {n.region} sent to the {self.region} CSP")
        self.received.append(n)
        self.indicators.setdefault(str(n.hub), {})[str(n.device)] = n.restricted

    def restricted_hubs(self) -> list[str]:
        return sorted(h for h, devs in self.indicators.items() if any(devs.values()))

    def monthly_report(self, hubs: list[str], delivered: dict[str, int], expected: dict[str, int]) -> JsonObject:
        """Per-hub communications performance; hubs with Restricted devices are exceptions."""
        exceptions = set(self.restricted_hubs())
        rows: list[Json] = []
        for hub in sorted(hubs):
            exp = expected.get(hub, 0)
            rows.append({"hub": hub, "delivered": delivered.get(hub, 0), "expected": exp,
                         "exception": hub in exceptions,
                         "reason": "Restricted device at this hub (MP169)" if hub in exceptions else ""})
        measured = [hub for hub in hubs if hub not in exceptions]
        total_exp = sum(expected.get(hub, 0) for hub in measured)
        total = sum(delivered.get(hub, 0) for hub in measured)
        return {"region": self.region, "hubs": rows, "exceptions": array(sorted(exceptions)),
                "delivery_rate": round(total / total_exp, 4) if total_exp else None}
