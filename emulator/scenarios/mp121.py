"""The MP121 change-of-supplier install-code journey (IC-1 to IC-4): devices installed and
left uncommissioned; change of supplier; without the install code the gaining supplier
cannot commission; a wrong code fails cleanly; with the code (obtained from the installing
supplier, within 10 working days) it joins the devices, replaces the supplier credentials
through the Transitional CoS party, commissions them; then its SRVs succeed and the
losing supplier's are refused."""

from __future__ import annotations

import asyncio
import base64

from emulator.devices.events import CommandRefused
from emulator.devices.profile import PremisesProfile
from emulator.dsp.model import Status
from emulator.gbcs import credentials, frames, identities, security
from emulator.gbcs.frames import Cra, Message
from emulator.scenarios.report import Recorder, check
from emulator.scenarios.steps import meters, send_ok
from emulator.scenarios.world import SECOND_SUPPLIER, SUPPLIER, World
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.install_code import link_key_from_install_code, with_crc


def profiles() -> list[PremisesProfile]:
    return [PremisesProfile(name="mp121", region="NORTH")]


async def run(world: World, rec: Recorder) -> None:
    p = world.premises[0]
    core = world.dsp.core
    a, b = world.users[SUPPLIER], world.users[SECOND_SUPPLIER]
    with rec.step("install", "installing supplier fits the meters and leaves them uncommissioned", ["IC-1", "IC-4"]):
        await send_ok(a, "8.14.1", "", {"device": p.chf.hex().upper()})
        for eui, _ in meters(p):
            core.set_status(Eui64(eui), Status.INSTALLED_NOT_COMMISSIONED, world.clock.now(), SUPPLIER)
        views = {d["eui"]: d for d in core.read_inventory()}
        check(all("install_code" not in v for v in views.values()), "the inventory view reveals install codes (IC-4)")
    with rec.step("cos", "change of supplier to the gaining supplier", ["IC-3", "RM-9"]):
        for eui, _ in meters(p):
            core.change_of_supplier(Eui64(eui), SECOND_SUPPLIER, world.clock.now())
        ack, _ = await a.send("11.2", p.esme.hex().upper())
        check(ack.code == "E4", f"the losing supplier's SRV was not refused: {ack.code}")
    with rec.step("no-code", "without the install code the gaining supplier cannot join the devices", ["IC-2", "IC-3"]):
        for eui, _ in meters(p):
            runner = p.esme_runner if eui == p.esme else p.gsme_runner
            assert runner is not None
            reason = await runner.try_join(link_key_from_install_code(with_crc(bytes(16))))
            check(reason is not None, f"{eui.hex().upper()} joined without being in the device log")
    with rec.step("wrong-code", "a wrong install code fails cleanly", ["IC-2"]) as s:
        bad = bytearray(p.install_codes[p.esme])
        bad[3] ^= 0xFF  # a typo: the CRC no longer matches
        ack, final = await b.send("8.11", p.chf.hex().upper(), {"device": p.esme.hex(), "device_type": 0,
                                                               "install_code": bytes(bad).hex()})
        check(ack.code == "I99" and final is not None, "8.11 with a wrong code did not get a device response")
        assert final is not None
        results = final.body.get("payload", {}).get("results", [])
        check(any(r["result"] != 0 for r in results), f"the CHF accepted a corrupted install code: {results}")
        assert p.esme_runner is not None
        reason = await p.esme_runner.try_join(link_key_from_install_code(p.install_codes[p.esme]))
        check(reason is not None, "the ESME joined although its code was refused")
        s.detail = f"CHF refused it; join refused: {reason}"
    codes: dict[bytes, bytes] = {}
    with rec.step("exchange", "gaining supplier obtains the codes from the installing supplier", ["IC-3", "IC-4"]):
        for eui, _ in meters(p):
            req = core.request_install_code(SECOND_SUPPLIER, Eui64(eui), world.clock.now())
            check(req.code == "I0", f"request refused: {req.message}")
            check(req.body["deadline"] - req.body["requested"] >= 10 * 86400, "deadline is not 10 working days")
            wrong = core.answer_install_code(SECOND_SUPPLIER, req.request_id, world.clock.now())
            check(wrong.code == "E4", "a party other than the losing supplier answered")
            await asyncio.sleep(2 * 86400)  # the losing supplier answers two days later (virtual time)
            ans = core.answer_install_code(SUPPLIER, req.request_id, world.clock.now())
            check(ans.code == "I0" and bool(ans.body.get("install_code")), f"no code: {ans.message}")
            check(not ans.body.get("late"), "answer counted late")
            codes[eui] = bytes.fromhex(ans.body["install_code"])
        check(not core.overdue_install_code_requests(world.clock.now()), "an exchange is still open")
    with rec.step("join", "gaining supplier updates the device log with the codes; the devices join", ["IC-2", "IC-3"]):
        for eui, kind in meters(p):
            await send_ok(b, "8.11", p.chf, {"device": eui.hex(), "device_type": 0 if kind == "ESME" else 1,
                                             "install_code": codes[eui].hex()})
            runner = p.esme_runner if kind == "ESME" else p.gsme_runner
            assert runner is not None
            reason = await runner.try_join(link_key_from_install_code(codes[eui]))
            check(reason is None, f"{kind} did not join: {reason}")
    with rec.step("credentials", "supplier certificates replaced through the Transitional CoS (6.23)", ["IC-3"]):
        ds = world.keys.get(identities.SECOND_SUPPLIER, "ds").certificate_der
        ka = world.keys.get(identities.SECOND_SUPPLIER, "ka").certificate_der
        check(ds is not None and ka is not None, "no certificates for the gaining supplier in the test PKI")
        assert ds is not None and ka is not None
        # The DUIS 6.23 body: the gaining supplier's certificates (they chain straight to the test root,
        # so no certification path), its floor sequence number, time-based checks applied.
        body = {"SupplierFloorSeqNumber": "0",
                "SupplierReplacementCertificates": {"DigitalSigningCertificate": base64.b64encode(ds).decode(),
                                                    "KeyAgreementCertificate": base64.b64encode(ka).decode()},
                "ApplyTimeBasedCPVChecks": "true"}
        for eui, kind in meters(p):
            final = await send_ok(b, "6.23", eui, body)
            runner = p.esme_runner if kind == "ESME" else p.gsme_runner
            assert runner is not None
            slot = runner.machine.endpoint.trust.slots["supplier"]
            check(slot == identities.SECOND_SUPPLIER, f"{kind} still trusts {slot.hex().upper()} as supplier")
            response = frames.decode(bytes.fromhex(str(final.body["gbcs"])))
            outcome = credentials.decode_update_response(response.payload)
            check(outcome is not None and outcome.succeeded and len(outcome.outcomes) == 2,
                  f"{kind} did not replace both supplier cells: {outcome}")
    with rec.step("commission", "gaining supplier commissions the devices", ["IC-3"]):
        for eui, _kind in meters(p):
            await send_ok(b, "8.1.1", eui)
    with rec.step("gaining-ok", "the gaining supplier's SRVs succeed", ["IC-3"]):
        for eui, _ in meters(p):
            await send_ok(b, "11.2", eui)
            await send_ok(b, "4.1.1", eui)
    with rec.step("losing-refused", "the losing supplier's commands are refused, by the DSP and by the device",
                  ["IC-3"]):
        ack, _ = await a.send("4.1.1", p.esme.hex().upper())
        check(ack.code == "E4", f"DSP let the losing supplier through: {ack.code}")
        # Straight to the device, as if the losing supplier still had a route: the device refuses it.
        assert p.esme_runner is not None
        n0 = len([e for e in world.events if isinstance(e, CommandRefused) and e.device == p.esme])
        forged = Message(Cra.COMMAND, 10**15, identities.SUPPLIER, p.esme, 0x0059,
                         bytes.fromhex("D9200003E800010100010000000201FF020100"), mac_protected=True)
        wire = security.seal(world.keys, forged)
        frames.decode(wire)
        out = p.esme_runner.machine.on_gbcs(wire, world.clock.now())
        p.esme_runner._apply(out)
        refusals = [e for e in world.events if isinstance(e, CommandRefused) and e.device == p.esme][n0:]
        check(bool(refusals) and "not a trusted remote party" in refusals[-1].reason,
              f"device did not refuse the losing supplier: {[r.reason for r in refusals]}")
