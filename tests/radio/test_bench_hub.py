"""The bench (DV-7, IC-2): the emulated hub on a radio, a device under test on the air joining with its
install code, commissioned and read over GBCS, and given firmware. The radio here is zigpy-znp on the
fake stick, and the "device under test" an emulated ESME on the stick's air: to the hub, a real device."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from emulator.clock import VirtualClock, run, until
from emulator.devices.endpoint import GbcsEndpoint, TrustAnchors
from emulator.devices.esme import Esme
from emulator.devices.profile import MeterProfile
from emulator.dsp.model import Status
from emulator.hardware import RadioProfile
from emulator.pki.generate import device_eui
from emulator.scenarios.bench_hub import BenchDevice, start_bench
from emulator.scenarios.steps import send_ok
from emulator.scenarios.world import SUPPLIER, view
from emulator.transport.device_runner import MeterRunner
from emulator.transport.fake_znp import FakeZnpAir
from emulator.zigbee import ota_file
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.install_code import link_key_from_install_code, with_crc
from emulator.znp.fake import FakeZnp

pytest.importorskip("zigpy_znp")
CODE = with_crc(bytes.fromhex("83FED3407A939723A5C639B26916D505"))


def test_dv7_ic2_a_device_under_test_joins_the_bench_hub_and_talks_gbcs():
    async def main() -> None:
        clock = VirtualClock()
        air = FakeZnpAir(FakeZnp(bytes.fromhex("00124B00CAFE0001")), clock)
        url = await air.serve_tcp()
        device = BenchDevice.parse(f"ESME:{CODE.hex()}")
        assert device.eui == device_eui(0, "ESME")
        w = await start_bench(clock, RadioProfile("bench", "znp", url, source="bench.yaml"), [device])
        p = w.premises[0]
        esme = Esme(device.eui, GbcsEndpoint(device.eui, view(w.keys, [device.eui]), TrustAnchors()), p.chf,
                    MeterProfile(), clock.now(), w.manufacturer.public_key())
        dut = MeterRunner(esme, lambda r: air.attach(device.eui, r), clock, w.events.append)
        # The hub's permit for this device reaches the stick through zigpy-znp, in the background.
        assert await until(lambda: device.eui in air.fake.install_codes and air.fake.permit_until > 0, 60), \
            "the stick got no install code or permit for the device within 60 s"
        assert "does not match" in (await dut.try_join(link_key_from_install_code(with_crc(bytes(16)))) or "")
        assert await dut.try_join(link_key_from_install_code(CODE)) is None

        def status() -> Status | None:
            found = w.dsp.core.repo.device(Eui64(device.eui))
            return found.status if found else None

        await until(lambda: status() == Status.INSTALLED_NOT_COMMISSIONED, 60)  # the hub tells the DSP of the join
        dev = w.dsp.core.repo.device(Eui64(device.eui))
        assert dev is not None and dev.status == Status.INSTALLED_NOT_COMMISSIONED
        await send_ok(w.users[SUPPLIER], "8.1.1", device.eui)
        _, final = await w.users[SUPPLIER].send("4.1.1", device.eui.hex().upper())
        assert final is not None and final.code == "I0"
        img = ota_file.sample_image(w.manufacturer, manufacturer_code=0x1234, image_type=1, file_version=0x02000000,
                                    size=3000)
        await send_ok(w.users[SUPPLIER], "11.1", "", {"image": img.hex(), "targets": [device.eui.hex().upper()]})
        await until(lambda: esme.firmware.held is not None, 600, every=1)
        assert esme.firmware.held is not None and esme.firmware.held.file_version == 0x02000000
        await dut.stop()
        await w.stop()
        await air.stop()

    run(main())


@pytest.mark.parametrize(("spec", "why"), [
    ("IHD:0102", "kind 'IHD' is not one of ESME, GSME"),
    ("ESME:0102030405060708FFFF", "install code refused"),
    ("ESME:83FED3407A939723A5C639B26916D505C3B5:00DB", "is not 16 hex digits"),
    ("ESME", "expected KIND:INSTALLCODE[:EUI64]"),
])
def test_bench_device_specs_are_refused_with_the_reason(spec: str, why: str):
    with pytest.raises(ValueError, match=re.escape(why)):
        BenchDevice.parse(spec)


def test_serve_refuses_the_virtual_profile_and_a_bad_device(tmp_path):  # type: ignore[no-untyped-def]
    virtual = tmp_path / "v.yaml"
    virtual.write_text("radio: virtual\n")
    r = subprocess.run([sys.executable, "-m", "emulator", "hardware", "serve", str(virtual)], capture_output=True,
                       text=True, timeout=300, check=False)
    assert r.returncode == 2 and "serve needs a real radio" in r.stderr
    znp = tmp_path / "z.yaml"
    znp.write_text("radio: znp\nport: socket://127.0.0.1:9\n")
    r = subprocess.run([sys.executable, "-m", "emulator", "hardware", "serve", str(znp), "--device", "IHD:00"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 2 and "kind 'IHD'" in r.stderr
