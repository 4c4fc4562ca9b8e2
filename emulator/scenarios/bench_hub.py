"""The emulated hub on a real radio, for a bench: the CHF runs on a dongle (zigpy), the DSP stub
beside it, and real HAN devices join with their install codes, fetch OTA images and exchange
GBCS with the DSP exactly as emulated meters do on the virtual bus.

The premises has no emulated meters: each device under test is named by kind and install
code (and EUI-64; by default the test PKI's EUI for that kind, whose keys ``pki init``
writes, so a device loaded with them answers GBCS). Starting the bench commissions the hub
(SRV 8.14.1) and puts every device in its device log (SRV 8.11), which makes the CHF permit
exactly that device, with that key, on the radio (IC-2).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.clock import Clock
from emulator.devices.chf import DEVICE_TYPE_CODES
from emulator.devices.profile import PremisesProfile
from emulator.dsp.model import Device, Status
from emulator.dsp.repository import Repository
from emulator.hardware import RadioError, RadioProfile
from emulator.pki.generate import device_eui
from emulator.scenarios.steps import send_ok
from emulator.scenarios.world import SUPPLIER, World, build_world
from emulator.transport.han import HanDeviceLink, HanListener, HanRadio
from emulator.zigbee.errors import InstallCodeError
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.install_code import check as check_install_code
from emulator.zigbee.install_code import parse as parse_install_code

KINDS = ("ESME", "GSME")


@dataclass(frozen=True, slots=True)
class BenchDevice:
    kind: str
    install_code: bytes
    eui: bytes

    @classmethod
    def parse(cls, text: str) -> BenchDevice:
        """``KIND:INSTALLCODE[:EUI64]``, e.g. ``ESME:83FED3407A939723A5C639B26916D505C3B5`` (hex)."""
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"{text!r}: expected KIND:INSTALLCODE[:EUI64]")
        kind = parts[0].upper()
        if kind not in KINDS:
            raise ValueError(f"{text!r}: kind {parts[0]!r} is not one of {', '.join(KINDS)}")
        try:
            code = parse_install_code(parts[1])
            check_install_code(code)
        except InstallCodeError as e:
            raise ValueError(f"{text!r}: install code refused: {e}") from None
        try:
            eui = bytes.fromhex(parts[2]) if len(parts) == 3 else device_eui(0, kind)
        except ValueError:
            eui = b""
        if len(eui) != 8:
            raise ValueError(f"{text!r}: EUI-64 {parts[2]!r} is not 16 hex digits")
        return cls(kind, code, eui)


class RadioHan:
    """A premises HAN on a real radio: the CHF's radio is the dongle; devices are on the air."""

    def __init__(self, profile: RadioProfile) -> None:
        self.profile = profile

    def radio(self, eui: bytes) -> HanRadio:
        from emulator.transport.zigpy_han import ZigpyRadio

        return ZigpyRadio(self.profile)

    def attach(self, eui: bytes, listener: HanListener, *, sleepy: bool = False) -> HanDeviceLink:
        raise RadioError(f"{self.profile.source}: on a real radio the meters are real devices; emulated meters "
                         f"need the virtual bus or a fake radio (run --han fake-znp or fake-ezsp)")

    async def aclose(self) -> None:
        """The radio is stopped by the CHF's runner; nothing else is held."""


async def start_bench(clock: Clock, profile: RadioProfile, devices: list[BenchDevice], *, seed: int = 1,
                      repo: Repository | None = None) -> World:
    """The DSP and a hub on ``profile``'s radio, with ``devices`` in its device log, ready to join."""

    async def han(index: int, chf: bytes) -> RadioHan:
        return RadioHan(profile)

    world = await build_world(clock, [PremisesProfile(name="bench", electricity=None, gas=None)], seed=seed,
                              repo=repo, han=han)
    p = world.premises[0]
    core = world.dsp.core
    for dev in devices:
        core.add_device(Device(Eui64(dev.eui), dev.kind, p.id, Status.PENDING,
                               import_supplier=SUPPLIER if dev.kind == "ESME" else None,
                               gas_supplier=SUPPLIER if dev.kind == "GSME" else None,
                               installing_supplier=SUPPLIER, install_code=dev.install_code.hex().upper()))
    user = world.users[SUPPLIER]
    await send_ok(user, "8.14.1", "", {"device": p.chf.hex().upper()})
    for dev in devices:
        # SRV 8.11 carries the code without its CRC, as DUIS does (checked above; the hub appends it
        # again): a 6-byte code's label form, 8 bytes with CRC, would otherwise read as an 8-byte code.
        await send_ok(user, "8.11", p.chf, {"device": dev.eui.hex(), "device_type": DEVICE_TYPE_CODES[dev.kind],
                                            "install_code": dev.install_code[:-2].hex()})
    return world
