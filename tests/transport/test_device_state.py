"""The device state folder over the virtual bus (issue 15.7; DV-3, DV-5): atomic files, and a
meter restarted mid-OTA that resumes from the last block it kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from emulator.clock import VirtualClock, run, until
from emulator.devices.endpoint import GbcsEndpoint, TrustAnchors
from emulator.devices.esme import Esme
from emulator.devices.events import CommandRefused, FirmwareBlockReceived, FirmwareTransferEnded
from emulator.devices.profile import MeterProfile, PremisesProfile
from emulator.devices.state_snapshot import MeterSnapshot, StateError, restore
from emulator.gbcs import commands, identities, security
from emulator.scenarios.steps import commission, install, send_ok
from emulator.scenarios.world import SUPPLIER, build_world, view
from emulator.transport.device_runner import MeterRunner
from emulator.transport.device_state import StateFolder
from emulator.transport.wan_messages import Command
from emulator.zigbee import ota_file
from emulator.zigbee.install_code import link_key_from_install_code


def test_a_save_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path):
    async def main() -> None:
        folder = StateFolder(tmp_path / "state")
        w = await build_world(VirtualClock(), [PremisesProfile(gas=None)], state=folder)
        p = w.premises[0]
        assert p.esme_runner is not None
        folder.save(p.esme, _snapshot(p.esme_runner))
        first = folder.path(p.esme).read_bytes()
        folder.save(p.esme, _snapshot(p.esme_runner))
        assert folder.path(p.esme).read_bytes() == first
        assert sorted(f.name for f in (tmp_path / "state").iterdir()) == [f"{p.esme.hex().upper()}.json"]
        assert folder.load(p.chf) is None  # nothing kept yet for the hub: it starts empty
        await w.stop()

    run(main())


def _snapshot(runner: MeterRunner) -> MeterSnapshot:
    from emulator.devices.state_snapshot import snapshot

    state = snapshot(runner.machine)
    assert isinstance(state, MeterSnapshot)
    return state


def test_an_unreadable_state_file_is_refused_naming_the_file(tmp_path: Path):
    folder = StateFolder(tmp_path)
    eui = bytes.fromhex("00DB1234567890A0")
    folder.path(eui).write_text("{not json")
    with pytest.raises(StateError, match=r"00DB1234567890A0\.json: not a state snapshot"):
        folder.load(eui)


def test_dv5_a_meter_restarted_mid_ota_over_the_virtual_bus_resumes_from_its_last_kept_block(tmp_path: Path):
    async def main() -> None:
        folder = StateFolder(tmp_path)
        clock = VirtualClock()
        w = await build_world(clock, [PremisesProfile(gas=None)], state=folder)
        p = w.premises[0]
        sup = w.users[SUPPLIER]
        await install(w, p, sup)
        await commission(w, p, sup)
        img = ota_file.sample_image(w.manufacturer, manufacturer_code=0x1234, image_type=1, file_version=0x03000000,
                                    size=20_000)
        await send_ok(sup, "11.1", "", {"image": img.hex(), "targets": [p.esme.hex().upper()]})
        old = p.esme_runner
        assert old is not None
        assert await until(lambda: old.machine.firmware.download is not None
                           and old.machine.firmware.download.offset >= 5000, 100, every=0.001), \
            "the download did not pass 5000 bytes within 100 s"
        p.bus.impairments.loss = 1.0  # the meter loses power: nothing more reaches it
        await old.stop()  # its process ends (the batch it had open is written as it goes)
        kept = folder.load(p.esme)
        assert isinstance(kept, MeterSnapshot) and kept.firmware.download is not None
        offset = len(kept.firmware.download.data)
        assert 5000 <= offset < 20_000 and kept.joined
        # A new process: a new machine from the profile, given what the folder kept.
        machine = Esme(p.esme, GbcsEndpoint(p.esme, view(w.keys, [p.esme]), TrustAnchors()), p.chf,
                       MeterProfile(), clock.now(), w.manufacturer.public_key())
        restore(machine, kept)
        assert (identities.SUPPLIER, p.esme) in machine.endpoint.counters.last  # DV-3: counters came back too
        new = MeterRunner(machine, lambda r: p.bus.attach(p.esme, r), clock, w.events.append, folder)
        p.esme_runner = new
        p.bus.impairments.loss = 0.0
        before = len(w.events)
        assert await new.try_join(link_key_from_install_code(p.install_codes[p.esme])) is None
        assert await until(lambda: machine.firmware.held is not None, 600), "the resumed download did not end"
        offsets = [e.offset for e in w.events[before:] if isinstance(e, FirmwareBlockReceived)]
        assert offsets[0] == offset and offsets == sorted(set(offsets))  # resumed, not restarted
        assert [e.ok for e in w.events[before:] if isinstance(e, FirmwareTransferEnded)] == [True]
        print(f"state writes over the whole run: {folder.writes}, resumed at {offset} of {len(img)} bytes")
        assert folder.writes < 100  # batched: not a write per 50-byte block (400 blocks here)
        # DV-3 over the bus: a command from the supplier with the last counter the meter accepted
        # before its restart comes down through the hub, and the restarted meter refuses it.
        last = machine.endpoint.counters.last[(identities.SUPPLIER, p.esme)]
        replay = commands.build("4.1.1", "ESME", identities.SUPPLIER, p.esme, last, {}).message
        await p.chf_runner.on_down(Command("replay", "replay", security.seal(w.keys, replay)))
        assert await until(lambda: any(isinstance(e, CommandRefused) and e.device == p.esme and e.counter == last
                                       for e in w.events), 10), "the replayed counter was not refused within 10 s"
        refused = [e for e in w.events if isinstance(e, CommandRefused) and e.device == p.esme][-1]
        assert refused.alert_code == 0x8F3D and f"not above {last}" in refused.reason
        await w.stop()
        await asyncio.sleep(0)

    run(main())
