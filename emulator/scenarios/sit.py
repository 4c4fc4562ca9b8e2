"""The system integration test matrix (DCC impact assessment 7.2; MP169), generated from the
catalogues and the rules, not written out by hand:

* SRV x device type x Restricted state x user role, each with its expected outcome from
  the catalogue (role not allowed: E3; Restricted and CONS: E72; an SRV our devices refuse
  by design: I99 then E21; otherwise the device answers: I99 then I0);
* set/clear by the responsible supplier, refusals for everyone else and for each RM-3
  precondition, and the CSP message of each change;
* every alert code of the catalogue from a Restricted ESME: delivered to the SAT log or
  discarded to the diagnostics log as the configured alert list says;
* the Restricted flag in SRV 8.2, the inventory view and the CSV extract.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from emulator.devices.profile import MeterProfile, PremisesProfile
from emulator.dsp.reports import device_extract_csv
from emulator.gbcs import catalogue, usecases
from emulator.scenarios.report import Recorder, check
from emulator.scenarios.steps import alerts_logged, commission, install
from emulator.scenarios.world import NETWORK_OPERATOR, SECOND_SUPPLIER, SUPPLIER, PremisesRuntime, World
from emulator.zigbee.eui64 import Eui64

ROLES = {"supplier": (SUPPLIER, {"ESME": "IS", "GSME": "GS", "GPF": "GS", "CHF": "IS"}),
         "network-operator": (NETWORK_OPERATOR, {"ESME": "ED", "GSME": "GT", "GPF": "GT", "CHF": "ED"})}
SKIP = {"8.3"}  # decommissioning would end the matrix early; the UIT journey covers it
#: SRVs the device refuses on these premises, whoever sends them and whatever the Restricted
#: flag. 6.21 hands over a DCC-controlled device: the DSP sends the CS02b as the ACB, signed by
#: the ACB (as the RTDS 6.21 commands), and only a device whose supplier (network operator)
#: cell holds the ACB's certificate accepts it. The SIT premises are supplier-controlled, so the
#: device refuses it (0x8F30), does not answer, and the DSP's deadline gives the user E21.
DEVICE_REFUSES = {"6.21": "E21"}


@dataclass(frozen=True, slots=True)
class Case:
    srv: str
    device_type: str
    restricted: bool
    role: str
    expected: str  # E3, E72, I0, or E21 (sent, the device refused: DEVICE_REFUSES)

    @property
    def id(self) -> str:
        return f"{self.srv}/{self.device_type}/{'R' if self.restricted else 'U'}/{self.role}"


def expected(srv: str, device_type: str, restricted: bool, role_code: str) -> str:
    info = catalogue.srvs()[srv]
    if role_code not in info.roles:
        return "E3"
    if restricted and info.restricted_class == "CONS" and device_type in ("ESME", "GSME", "GPF"):
        return "E72"
    return DEVICE_REFUSES.get(srv, "I0")


def matrix() -> list[Case]:
    cases = []
    for info in catalogue.srvs().values():
        if info.non_device or info.srv in SKIP:
            continue
        for device_type in ("ESME", "GSME", "GPF", "CHF"):
            if usecases.use_case_for(info.srv, device_type) is None:
                continue
            for restricted in (False, True):
                if restricted and device_type == "CHF":
                    continue  # Restricted applies to meters (RM-1)
                for role, (_, codes) in ROLES.items():
                    cases.append(Case(info.srv, device_type, restricted, role,
                                      expected(info.srv, device_type, restricted, codes[device_type])))
    return cases


def profiles() -> list[PremisesProfile]:
    return [
        PremisesProfile(name="sit-credit", region="NORTH"),
        PremisesProfile(name="sit-prepayment", region="CENTRAL_SOUTH",
                        electricity=MeterProfile(seed=21, payment_mode="prepayment"), gas=None),
        PremisesProfile(name="sit-economy7", region="CENTRAL_SOUTH", economy7_load_control=True,
                        electricity=MeterProfile(seed=31, load_shape="economy7"), gas=None),
    ]


def _body(case: Case, p: PremisesRuntime) -> dict[str, Any]:
    if case.srv == "8.11":
        return {"device": p.esme.hex(), "device_type": 0, "install_code": p.install_codes[p.esme].hex()}
    if case.srv == "11.3":
        return {"image_hash": "00" * 32}
    if case.srv == "6.15.1" and case.role == "network-operator":  # DUIS: whose credentials (NObyNO)
        return {"RemotePartyRole": "NetworkOperator"}
    return {}


def _target(case: Case, p: PremisesRuntime) -> str:
    return {"ESME": p.esme, "GSME": p.gsme, "GPF": p.gpf, "CHF": p.chf}[case.device_type].hex().upper()


async def _run_case(world: World, p: PremisesRuntime, case: Case) -> tuple[bool, str]:
    user_eui, codes = ROLES[case.role]
    user = world.users[user_eui]
    ack, final = await user.send(case.srv, _target(case, p), _body(case, p), role=codes[case.device_type])
    if case.expected == "I0":
        if ack.code not in ("I99", "I0"):
            return False, f"{ack.code}: expected acceptance; {ack.message}"
        if final is None or final.code != "I0":
            return False, f"{final.code if final else 'none'}: no device response; {final.message if final else ''}"
        return True, "I0"
    if case.expected in DEVICE_REFUSES.values():  # accepted by the DSP, then refused by the device
        if ack.code != "I99":
            return False, f"{ack.code}: expected the DSP to send it; {ack.message}"
        code = final.code if final else "none"
        return code == case.expected, f"{code}: {final.message if final else 'no final answer'}"
    return ack.code == case.expected, f"{ack.code}: {ack.message}"  # the observed code first (tests read it)


async def run(world: World, rec: Recorder) -> None:
    core = world.dsp.core
    sup = world.users[SUPPLIER]
    for p in world.premises:
        with rec.step(f"{p.id}.setup", f"install and commission {p.profile.name}", ["IC-2"]):
            await install(world, p, sup)
            await commission(world, p, sup)
    p = world.premises[0]
    esme, gsme = p.esme.hex().upper(), p.gsme.hex().upper()
    cases = matrix()
    table: Counter[tuple[str, bool, str]] = Counter()
    for restricted in (False, True):
        if restricted:
            with rec.step("set.ok", "responsible supplier sets Restricted on ESME and GSME", ["RM-2", "RM-7"]):
                for eui in (esme, gsme):
                    r = await world.dsp.set_restricted(SUPPLIER, Eui64.from_hex(eui), True)
                    check(r.code == "I0", f"{eui}: {r.code} {r.message}")
        batch = [c for c in cases if c.restricted == restricted]
        # Cases run concurrently per device type, so GSME cases share the GSME's wake-ups.
        async def lane(kind: str, batch: list[Case] = batch) -> list[tuple[Case, bool, str]]:
            out = []
            for c in (c for c in batch if c.device_type == kind):
                ok, detail = await _run_case(world, p, c)
                out.append((c, ok, detail))
            return out

        lanes = await asyncio.gather(*(lane(k) for k in ("ESME", "GSME", "GPF", "CHF")))
        for c, ok, detail in (item for lane_items in lanes for item in lane_items):
            table[(c.expected, c.restricted, "pass" if ok else "fail")] += 1
            state = "Restricted" if c.restricted else "not Restricted"
            with rec.step(f"srv.{c.id}", f"SRV {c.srv} to {c.device_type}, {state}, {c.role}: expect {c.expected}",
                          ["RM-4"] if c.restricted else []) as s:
                s.detail = detail
                check(ok, detail)
    with rec.step("prepay.e72", "a Restricted meter cannot be switched to prepayment", ["RM-3"]):
        ack, _ = await sup.send("1.6", esme, {"Prepayment": {"SuspendDebtDisabled": "false",
                                                             "SuspendDebtEmergency": "false",
                                                             "DisablementThreshold": "0"}})
        check(ack.code == "E72", f"got {ack.code}: {ack.message}")
    for who, label in ((SECOND_SUPPLIER, "another supplier"), (NETWORK_OPERATOR, "the network operator")):
        with rec.step(f"set.refused.{label.split()[-1]}", f"{label} may not clear Restricted", ["RM-2"]):
            r = await world.dsp.set_restricted(who, Eui64(p.esme), False)
            check(r.code == "E4" and "RM-2" in r.message, f"got {r.code}: {r.message}")
            dev = core.repo.device(Eui64(p.esme))
            check(dev is not None and dev.restricted, "the flag changed")
    pre, e7 = world.premises[1], world.premises[2]
    refusals = (("prepayment", pre.esme, "credit-mode"), ("economy7", e7.esme, "must keep communications"),
                ("hub", p.chf, "ESME or a GSME"))
    for name, target, rule in refusals:
        with rec.step(f"set.refused.{name}", f"Restricted refused on the {name} device, naming the rule", ["RM-3"]):
            r = await world.dsp.set_restricted(SUPPLIER, Eui64(target), True)
            check(r.code != "I0" and rule in r.message, f"got {r.code}: {r.message}")
    with rec.step("csp.messages", "each set reached the hub's CSP, per region", ["RM-7", "RM-7a"]):
        csp = world.dsp.csps[p.profile.region]
        devices = {str(n.device) for n in csp.received}
        check({esme, gsme, p.gpf.hex().upper()} <= devices, f"CSP {csp.region} saw {sorted(devices)}")
        other = world.dsp.csps["CENTRAL_SOUTH" if p.profile.region == "NORTH" else "NORTH"]
        check(not other.received, "the other region's CSP was notified")
    alert_codes = sorted(catalogue.alert_codes())
    assert p.esme_runner is not None
    sat0, diag0 = len(core.repo.read_log("sat")), len(core.repo.read_log("diagnostics"))
    for code in alert_codes:
        p.esme_runner.raise_alert(code)
    await alerts_logged(world, (f"0x{code:04X}" for code in alert_codes), sat0, diag0)
    sat = Counter(r["alert_code"] for r in core.repo.read_log("sat")[sat0:])
    diag = Counter(r["alert_code"] for r in core.repo.read_log("diagnostics")[diag0:])
    for code in alert_codes:
        key = f"0x{code:04X}"
        delivered = world.dsp.core.policy.alert_delivered(code)  # the configured list (RM-5)
        with rec.step(f"alert.{key}", f"alert {key} from a Restricted ESME: {'SAT' if delivered else 'diagnostics'}",
                      ["RM-5"]) as s:
            # What happened, for tests that compare it with their own expectations.
            s.detail = "delivered" if sat[key] and not diag[key] else "discarded" if diag[key] and not sat[key] \
                else f"SAT {sat[key]}, diagnostics {diag[key]}"
            if delivered:
                check(sat[key] >= 1 and diag[key] == 0, f"SAT {sat[key]}, diagnostics {diag[key]}")
            else:
                check(diag[key] >= 1 and sat[key] == 0, f"SAT {sat[key]}, diagnostics {diag[key]}")
    with rec.step("views.8.2", "SRV 8.2 shows the flag", ["RM-6"]):
        ack, _ = await sup.send("8.2", "", {"premises": p.id})
        flags = {r["eui"]: r["restricted"] for r in ack.body.get("inventory", [])}
        check(flags.get(esme) is True and flags.get(p.chf.hex().upper()) is False, f"8.2 flags {flags}")
    with rec.step("views.inventory", "the SSI inventory view shows the flag", ["RM-6"]):
        check(any(d["eui"] == gsme and d["restricted"] for d in core.read_inventory()), "GSME not flagged")
    with rec.step("views.extract", "the device extract (CSV) shows the flag", ["RM-6"]):
        rows = {line.split(",")[0]: line.split(",")[4] for line in device_extract_csv(core.repo).splitlines()[1:]}
        check(rows.get(esme) == "Y" and rows.get(pre.esme.hex().upper()) == "N", f"extract {rows}")
    with rec.step("clear.ok", "responsible supplier clears Restricted", ["RM-2", "RM-7"]):
        for eui in (esme, gsme):
            r = await world.dsp.set_restricted(SUPPLIER, Eui64.from_hex(eui), False)
            check(r.code == "I0", f"{eui}: {r.code} {r.message}")
    rec.report.summary.update({
        "sit_cases": len(rec.report.steps),
        "srv_matrix_cases": len(cases),
        "alert_cases": len(alert_codes),
        "matrix_table": {f"{exp}/{'R' if r else 'U'}/{res}": n for (exp, r, res), n in sorted(table.items())},
    })
