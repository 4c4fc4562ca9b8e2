"""The user integration test journey (DCC impact assessment 7.3; MP169), per meter set:
install and commission; sample SRVs succeed; set Restricted; consumption SRVs rejected
(E72) while allowed ones succeed; alerts split between SAT and diagnostics logs; OTA
firmware to the Restricted ESME and GSME; clear Restricted; sample SRVs again;
decommission. Two meter sets, one per CSP region."""

from __future__ import annotations

from emulator.devices.profile import MeterProfile, PremisesProfile
from emulator.dsp.model import Status
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.reports import device_extract_csv
from emulator.gbcs import catalogue, usecases
from emulator.scenarios.report import Recorder, check
from emulator.scenarios.steps import alerts_logged, commission, firmware_update, install, meters, send_ok
from emulator.scenarios.world import SUPPLIER, World
from emulator.zigbee.eui64 import Eui64

SAMPLE_SRVS = ("11.2", "4.1.1", "6.2.4")
NEW_FIRMWARE = 0x0124ABCD
IMAGE_SIZE = 16 * 1024


def profiles() -> list[PremisesProfile]:
    """Two meter sets, one in each CSP region (PIA 7.3)."""
    return [
        PremisesProfile(name="uit-north", region="NORTH", cbke=True),  # CBKE after the joins (docs/cbke.md)
        PremisesProfile(name="uit-central-south", region="CENTRAL_SOUTH",
                        electricity=MeterProfile(seed=11), gas=MeterProfile(seed=12, load_shape="gas-heating",
                                                                            daily_kwh=30.0, image_type=2)),
    ]


def cons_srvs(device_type: str, policy: RestrictedPolicy) -> list[str]:
    """Every SRV the policy blocks that applies to ``device_type`` and a supplier may send."""
    return [s.srv for s in catalogue.srvs().values() if not policy.srv_allowed(s.srv) and not s.non_device
            and usecases.use_case_for(s.srv, device_type) is not None and supplier_role(device_type) in s.roles]


def supplier_role(device_type: str) -> str:
    return "GS" if device_type in ("GSME", "GPF") else "IS"


async def run(world: World, rec: Recorder, *, image_size: int = IMAGE_SIZE) -> None:
    sup = world.users[SUPPLIER]
    repo = world.dsp.core.repo
    for p in world.premises:
        tag = f"{p.id}/{p.profile.region}"
        esme, gsme = p.esme.hex().upper(), p.gsme.hex().upper()
        with rec.step(f"{p.id}.install", f"{tag}: install and join with install codes", ["IC-1", "IC-2"]) as s:
            s.detail = ", ".join(await install(world, p, sup))
        with rec.step(f"{p.id}.commission", f"{tag}: commission ESME and GSME (8.1.1, critical)", ["DV-3"]):
            await commission(world, p, sup)
        with rec.step(f"{p.id}.sample1", f"{tag}: sample SRVs succeed before Restricted", ["RM-4"]) as s:
            for srv in SAMPLE_SRVS:
                for eui, _ in meters(p):
                    await send_ok(sup, srv, eui)
            s.detail = f"{len(SAMPLE_SRVS) * len(meters(p))} SRVs I0"
        with rec.step(f"{p.id}.restrict", f"{tag}: supplier sets Restricted on ESME and GSME",
                      ["RM-1", "RM-2", "RM-7"]):
            for target in (esme, gsme):
                r = await world.dsp.set_restricted(SUPPLIER, Eui64.from_hex(target), True)
                check(r.code == "I0", f"set Restricted on {target}: {r.code} {r.message}")
            gpf = repo.device(Eui64(p.gpf))
            check(gpf is not None and gpf.restricted, "the GPF did not follow its GSME into Restricted (RM-1)")
            dev = repo.device(Eui64(p.esme))
            check(dev is not None and dev.status == Status.COMMISSIONED, "Restricted changed the device status")
            csp = world.dsp.csps[p.profile.region]
            check(p.chf.hex().upper() in csp.restricted_hubs(), f"CSP {p.profile.region} has no indicator (RM-7a)")
        with rec.step(f"{p.id}.views", f"{tag}: Restricted shown in 8.2, inventory and extract", ["RM-6"]):
            ack, _ = await sup.send("8.2", "", {"premises": p.id})
            rows = {r["eui"]: r for r in ack.body.get("inventory", [])}
            check(rows.get(esme, {}).get("restricted") is True, "8.2 does not show the ESME as Restricted")
            check(f"{esme},ESME" in device_extract_csv(repo) and ",Y," in device_extract_csv(repo),
                  "the CSV extract does not flag the device")
        with rec.step(f"{p.id}.rejected", f"{tag}: every consumption SRV rejected with E72", ["RM-4"]) as s:
            rejected = []
            for target, kind in ((esme, "ESME"), (gsme, "GSME")):
                for srv in cons_srvs(kind, world.dsp.core.policy):
                    ack, final = await sup.send(srv, target, role=supplier_role(kind))
                    check(ack.code == "E72", f"SRV {srv} to Restricted {kind}: {ack.code} {ack.message}")
                    check(final is None, f"SRV {srv} reached the device")
                    rejected.append(f"{kind}:{srv}")
            # The list itself, so that a test can hold it to the requirement's list.
            s.detail = f"{len(rejected)} CONS SRVs rejected before the WAN: {' '.join(rejected)}"
        with rec.step(f"{p.id}.allowed", f"{tag}: allowed SRVs still succeed", ["RM-4", "RM-10"]):
            for eui, _ in meters(p):
                await send_ok(sup, "11.2", eui)
                await send_ok(sup, "6.2.4", eui)
        with rec.step(f"{p.id}.alerts", f"{tag}: consumption alert to diagnostics only, security alert to SAT",
                      ["RM-5"]):
            sat0, diag0 = len(repo.read_log("sat")), len(repo.read_log("diagnostics"))
            assert p.esme_runner is not None
            p.esme_runner.raise_alert(0x8F0A)  # Billing Data Log Updated: consumption, discarded
            p.esme_runner.raise_alert(0x8F3F)  # Tamper: security, delivered
            await alerts_logged(world, ("0x8F0A", "0x8F3F"), sat0, diag0)
            sat = repo.read_log("sat")[sat0:]
            diag = repo.read_log("diagnostics")[diag0:]
            check([r["alert_code"] for r in diag] == ["0x8F0A"], f"diagnostics got {[r['alert_code'] for r in diag]}")
            check("0x8F3F" in [r["alert_code"] for r in sat] and "0x8F0A" not in [r["alert_code"] for r in sat],
                  f"SAT log got {[r['alert_code'] for r in sat]}")
        with rec.step(f"{p.id}.firmware", f"{tag}: OTA firmware to the Restricted ESME and GSME",
                      ["DV-5", "RM-4"]) as s:
            versions = await firmware_update(world, p, sup, NEW_FIRMWARE + p.index, image_size)
            s.detail = ", ".join(f"{k} now {v}" for k, v in versions.items())
        with rec.step(f"{p.id}.clear", f"{tag}: supplier clears Restricted", ["RM-2", "RM-7"]):
            for target in (esme, gsme):
                r = await world.dsp.set_restricted(SUPPLIER, Eui64.from_hex(target), False)
                check(r.code == "I0", f"clear Restricted on {target}: {r.code} {r.message}")
        with rec.step(f"{p.id}.sample2", f"{tag}: sample SRVs succeed again", ["RM-4"]):
            for srv in SAMPLE_SRVS:
                for eui, _ in meters(p):
                    await send_ok(sup, srv, eui)
        with rec.step(f"{p.id}.decommission", f"{tag}: decommission the meter set", []):
            for eui, kind in meters(p):
                await send_ok(sup, "8.3", "", {"device": eui.hex().upper()})
                dev = repo.device(Eui64(eui))
                check(dev is not None and dev.status == Status.DECOMMISSIONED, f"{kind} not Decommissioned")
    rec.report.summary.update({
        "meter_sets": len(world.premises),
        "sat_log": len(repo.read_log("sat")),
        "diagnostics_log": len(repo.read_log("diagnostics")),
        "csp_notifications": {r: len(c.received) for r, c in world.dsp.csps.items()},
    })
