"""The two reported Restricted bypasses, tried end to end as an integration tester would: a
commissioned premises (CHF, ESME, GSME on the virtual HAN, the DSP over the in-memory WAN), the
ESME Restricted, and the device's own record of what it executed as the witness."""

from __future__ import annotations

from emulator.clock import run
from emulator.devices.events import CommandAccepted
from emulator.dsp.model import ServiceRequest
from emulator.gbcs import frames, security
from emulator.gbcs.frames import Cra, Message
from emulator.scenarios.world import SUPPLIER, World
from emulator.zigbee.eui64 import Eui64
from tests.commissioned import commissioned_world

ECS17B_READ_IMPORT = 0x0027


def _executed(world: World, device: bytes, message_code: int) -> int:
    return sum(1 for e in world.events if isinstance(e, CommandAccepted) and e.device == device
               and e.message_code == message_code)


def test_rm4_bypasses_refused_end_to_end_and_the_meter_never_reads_its_register() -> None:
    async def main() -> None:
        w, p, sup = await commissioned_world()
        try:
            esme = p.esme.hex().upper()
            ack, final = await sup.send("4.1.1", esme)  # the read works before the flag
            assert ack.code == "I99" and final is not None and final.code == "I0"
            before = _executed(w, p.esme, ECS17B_READ_IMPORT)
            assert before == 1
            # Bypass 2: a future-dated read accepted before the flag...
            at = w.clock.now() + 3600
            fd = ServiceRequest(sup.request_id(esme), "4.1.1", 1, {}, "IS", execution_time=at)
            assert (await w.dsp.submit(SUPPLIER, fd)).code == "I99"
            assert (await w.dsp.set_restricted(SUPPLIER, Eui64(p.esme), True)).code == "I0"
            # Bypass 1: the user's own signed ECS17b sent as the Signed Pre-Command of 6.11 (CV 5).
            read = bytes.fromhex("D92000000100010100030100010800FF020100")
            own = Message(Cra.COMMAND, sup.counter.next(w.clock.now()), bytes.fromhex(SUPPLIER), p.esme,
                          ECS17B_READ_IMPORT, read, precommand=True)
            signed = frames.encode(security.sign(sup.keys, own).with_(mac_protected=False)).hex().upper()
            cv5 = ServiceRequest(sup.request_id(esme), "6.11", 5, {}, "IS", signed_command=signed)
            refused = await w.dsp.submit(SUPPLIER, cv5)
            assert refused.code == "E51", refused
            # ...is refused when it comes due, and never reaches the meter.
            late = await w.dsp.result(fd.request_id)
            assert late.code == "E72" and w.clock.now() >= at, late
            assert _executed(w, p.esme, ECS17B_READ_IMPORT) == before
            # An allowed critical SRV still goes through CV 4 / CV 5 to the Restricted meter.
            ack, final = await sup.send("6.11", esme)
            assert final is not None and final.code == "I0", (ack, final)
        finally:
            await w.stop()

    run(main())
