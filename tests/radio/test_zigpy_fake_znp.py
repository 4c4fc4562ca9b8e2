"""Second CI tier (DV-7, IC-2): the CHF on the real zigpy-znp, driving the project's fake ZNP stick
over loopback TCP and over a pty. Network formed, install-code joins (and refusals), GBCS through
the Tunneling cluster, an OTA transfer to both meters, and the network kept across a restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.clock import RealClock, VirtualClock, run, until
from emulator.devices.events import FirmwareTransferEnded
from emulator.devices.profile import PremisesProfile
from emulator.hardware import RadioProfile
from emulator.scenarios.steps import commission, install, send_ok
from emulator.scenarios.world import SUPPLIER, World, build_world
from emulator.transport.fake_znp import FakeZnpAir, fake_znp_han
from emulator.transport.han import NullListener
from emulator.transport.zigpy_han import ZigpyRadio
from emulator.zigbee import ota_file
from emulator.zigbee.install_code import link_key_from_install_code, with_crc
from emulator.znp.fake import FakeZnp

pytest.importorskip("zigpy_znp")


async def _world(*, pty: bool = False) -> World:
    # A pty hands bytes over through the kernel's line discipline, later than the selector can see:
    # that variant runs on the wall clock, so no virtual-time jump overtakes a reply in the tty.
    clock = RealClock() if pty else VirtualClock()
    return await build_world(clock, [PremisesProfile()], han=fake_znp_han(clock, pty=pty))


def test_dv7_ic2_chf_on_zigpy_znp_joins_reads_and_upgrades_meters():
    async def main() -> None:
        w = await _world()
        p = w.premises[0]
        air = p.bus
        assert isinstance(air, FakeZnpAir) and air.url.startswith("socket://127.0.0.1:")
        radio = p.chf_runner.radio
        assert isinstance(radio, ZigpyRadio)
        info = radio.network_info()
        assert info["channel"] == 15 and info["ieee"] == p.chf.hex().upper()  # formed by zigpy-znp, on our stick
        assert air.fake.state.formed and air.fake.handled["AppConfig.BDBStartCommissioning"] >= 1
        assert p.esme_runner is not None and p.gsme_runner is not None
        right = link_key_from_install_code(p.install_codes[p.esme])
        # Before SRV 8.11 nothing is permitted: the stick's trust centre refuses, naming why (IC-2).
        assert "not permitted" in (await p.esme_runner.try_join(right) or "")
        await install(w, p, w.users[SUPPLIER])  # 8.11 -> CHF -> permit_with_link_key -> joins
        assert air.fake.handled["AppConfig.BDBAddInstallCode"] >= 2 and air.stats.joins == 2
        assert {p.esme, p.gsme} <= set(p.chf_runner.machine.nwk)
        await commission(w, p, w.users[SUPPLIER])
        before = air.fake.handled["AF.DataRequestExt"]
        _, final = await w.users[SUPPLIER].send("4.1.1", p.esme.hex().upper())  # GBCS both ways, tunnelled
        assert final is not None and final.code == "I0"
        assert air.fake.handled["AF.DataRequestExt"] > before and radio.stats.received > 0
        size = 6000
        for eui, itype in ((p.esme, 1), (p.gsme, 2)):
            img = ota_file.sample_image(w.manufacturer, manufacturer_code=0x1234, image_type=itype,
                                        file_version=0x02000000, size=size)
            await send_ok(w.users[SUPPLIER], "11.1", "", {"image": img.hex(), "targets": [eui.hex().upper()]})
        esme_fw, gsme_fw = p.esme_runner.machine.firmware, p.gsme_runner.machine.firmware
        await until(lambda: esme_fw.held is not None and gsme_fw.held is not None, 3000, every=1)
        ended = {e.device for e in w.events if isinstance(e, FirmwareTransferEnded) and e.ok}
        assert ended == {p.esme, p.gsme}
        assert air.stats.to_devices > 2 * size // 50  # every block went through zigpy-znp and the stick
        assert not [n for n in air.stats.notes if "does not fit" in n]
        await w.stop()

    run(main())


def test_dv7_over_a_pty_and_a_wrong_install_code_is_refused():
    async def main() -> None:
        w = await _world(pty=True)
        p = w.premises[0]
        assert isinstance(p.bus, FakeZnpAir) and p.bus.url.startswith("/dev/")
        assert p.esme_runner is not None
        await send_ok(w.users[SUPPLIER], "8.11", p.chf, {"device": p.esme.hex(), "device_type": 0,
                                                         "install_code": p.install_codes[p.esme].hex()})
        fake = p.bus.fake  # the permit goes out through zigpy-znp in the background (real time here)
        assert await until(lambda: p.esme in fake.install_codes and bool(fake.permit_until), 60), \
            "the stick got no install code or permit for the ESME within 60 s"
        wrong = link_key_from_install_code(with_crc(bytes(16)))
        assert "does not match the install code" in (await p.esme_runner.try_join(wrong) or "")
        assert await p.esme_runner.try_join(link_key_from_install_code(p.install_codes[p.esme])) is None
        # The join reaches the CHF through zigpy-znp (TCDevInd, Device_annce).
        assert await until(lambda: p.esme in p.chf_runner.machine.nwk, 60), "the CHF did not see the join in 60 s"
        await w.stop()

    run(main(), virtual=False)


def test_dv7_the_stick_keeps_its_network_across_a_restart():
    async def main() -> None:
        air = FakeZnpAir(FakeZnp(bytes.fromhex("00124B00AABBCCDD"), seed=5), VirtualClock())
        url = await air.serve_tcp()
        first = ZigpyRadio(RadioProfile("fake", "znp", url, channel=20))
        await first.start(NullListener())
        formed = first.network_info()
        await first.stop()
        again = ZigpyRadio(RadioProfile("fake", "znp", url, channel=20))
        await again.start(NullListener())
        assert again.network_info() == formed and formed["channel"] == 20
        await again.stop()
        await air.stop()

    run(main())


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_dv7_hardware_check_on_the_fake_stick_and_a_wrong_radio_type(tmp_path: Path):
    server = subprocess.Popen([sys.executable, "-m", "emulator", "hardware", "fake-znp", "--port", "0",
                               "--seconds", "600"], stdout=subprocess.PIPE, text=True)  # stopped in finally
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = line.split(" at ")[1].strip()
        good = tmp_path / "fake.yaml"
        good.write_text(f"radio: znp\nport: {url}\nchannel: 25\n")
        t = time.monotonic()
        r = _cli("hardware", "check", str(good))
        baseline = time.monotonic() - t  # a process start, zigpy's imports and a check: slow on a busy machine
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["channel"] == 25 and info["firmware"].startswith("Z-Stack") and info["network_formed"]
        wrong = tmp_path / "wrong.yaml"
        wrong.write_text(f"radio: ezsp\nport: {url}\n")  # a valid type, but not what is on the port
        t = time.monotonic()
        r = _cli("hardware", "check", "--timeout", "4", str(wrong))
        assert r.returncode == 2 and "did not start within 4 s (wrong radio type or baud rate?)" in r.stderr
        # The 4 s time-out ends the check: it takes about what a good check takes, not zigpy's own
        # minute-long retries (measured against the good check, so a loaded machine is no failure).
        took = time.monotonic() - t
        assert took < baseline + 25, f"the wrong-radio check took {took:.1f} s, a good one {baseline:.1f} s"
        assert "Traceback" not in r.stderr
        refused = tmp_path / "refused.yaml"
        refused.write_text("radio: znp\nport: socket://127.0.0.1:9\n")
        r = _cli("hardware", "check", "--timeout", "5", str(refused))
        assert r.returncode == 2 and "ConnectionRefusedError" in r.stderr and "Traceback" not in r.stderr
    finally:
        server.terminate()
        server.wait(10)


def test_dv7_uit_journey_over_zigpy_znp_and_the_embedded_mosquitto(tmp_path: Path):
    """The whole UIT with every hub on zigpy-znp and a fake stick: the journeys do not know."""
    report_path, pcap = tmp_path / "uit.json", tmp_path / "uit.pcap"
    r = _cli("run", "uit", "--han", "fake-znp", "--quiet", "--report", str(report_path), "--pcap", str(pcap),
             timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["ok"] and report["summary"]["han"] == "zigpy-znp over the fake ZNP (TCP)"
    assert report["summary"]["broker"].startswith("embedded") and report["summary"]["han_packets"] > 100
    assert {s["id"] for s in report["steps"]} >= {"P0000.install", "P0000.firmware", "P0001.rejected"}
    assert pcap.stat().st_size > 10_000


def test_dv7_the_hub_survives_the_radio_going_away_and_nothing_accepted_is_lost():
    async def main() -> None:
        w = await _world()
        p = w.premises[0]
        air = p.bus
        assert isinstance(air, FakeZnpAir)
        await install(w, p, w.users[SUPPLIER])
        await commission(w, p, w.users[SUPPLIER])
        radio = p.chf_runner.radio
        assert isinstance(radio, ZigpyRadio)
        # The dongle drops off the bus: the host's connection is cut under zigpy-znp.
        assert air._writer is not None
        air._writer.transport.abort()
        assert await until(lambda: radio.stats.reconnects > 0, 120, every=1), "zigpy-znp did not reconnect in 120 s"
        assert radio.stats.reconnects == 1 and radio.app is not None
        # The network and the joined meters are still there, and GBCS flows again.
        _, final = await w.users[SUPPLIER].send("4.1.1", p.esme.hex().upper())
        assert final is not None and final.code == "I0"
        await w.stop()

    run(main())


def test_dv7_sit_journey_over_zigpy_znp_with_large_frames_in_fragments(tmp_path: Path):
    """The whole SIT (1,165 cases) with every hub on zigpy-znp: commissioning's 238-byte 8.1.1 and
    every other frame over one air frame cross the stick's air in APS fragments."""
    report_path = tmp_path / "sit.json"
    r = _cli("run", "sit", "--han", "fake-znp", "--broker", "memory", "--quiet", "--report", str(report_path),
             "--pcap", str(tmp_path / "sit.pcap"), timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["ok"] and len(report["steps"]) >= 1165 and report["summary"]["han_fragments"] > 1000
