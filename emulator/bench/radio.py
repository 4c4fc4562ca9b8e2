"""Second-tier benchmark: the CHF on the real zigpy-znp driving the fake Z-Stack stick, and on the
real bellows driving the fake EmberZNet NCP (both on loopback TCP), against the same work on the
virtual bus. Wall-clock figures, virtual time, in-memory WAN."""

from __future__ import annotations

import time

from emulator.bench.han import device_commands, ota_transfer
from emulator.clock import VirtualClock
from emulator.clock import run as run_loop
from emulator.ezsp import commands as ez
from emulator.ezsp.ash import AshFrame, AshNcp, Kind
from emulator.ezsp.fake import FakeNcp
from emulator.hardware import RadioProfile
from emulator.scenarios.world import HanFactory
from emulator.transport.fake_ezsp import FakeEzspAir, fake_ezsp_han
from emulator.transport.fake_znp import FakeZnpAir, fake_znp_han
from emulator.transport.han import NullListener
from emulator.transport.zigpy_han import ZigpyRadio
from emulator.zigbee.jsonvalue import JsonObject
from emulator.znp import commands as mt
from emulator.znp.fake import FakeZnp


async def _startup(radio_type: str) -> dict[str, float]:
    """Forming a network on a fresh fake radio, then resuming it: wall time and host requests."""
    air: FakeZnpAir
    if radio_type == "ezsp":
        ncp = FakeNcp(bytes.fromhex("000D6F0000000001"))
        air = FakeEzspAir(ncp, VirtualClock())
        handled = ncp.handled
    else:
        stick = FakeZnp(bytes.fromhex("00124B0000000001"))
        air = FakeZnpAir(stick, VirtualClock())
        handled = stick.handled
    url = await air.serve_tcp()
    out: dict[str, float] = {}
    for label in ("form", "resume"):
        radio = ZigpyRadio(RadioProfile("bench", radio_type, url))
        before = sum(handled.values())
        t0 = time.perf_counter()
        await radio.start(NullListener())
        out[f"startup_{label}_s"] = time.perf_counter() - t0
        out[f"startup_{label}_requests"] = sum(handled.values()) - before
        await radio.stop()
    await air.stop()
    return out


async def _work(han: HanFactory | None, size: int, commands: int) -> dict[str, float]:
    cmds = await device_commands(commands, han)
    ota = await ota_transfer(size, han=han)
    return {"commands_per_s": cmds["commands_per_s_wall"], "ota_blocks_per_s": ota["blocks_per_s_wall"],
            "ota_blocks": ota["blocks"]}


def _fake_alone(seconds: float) -> float:
    """MT requests per second through the sans-IO fake alone (SYS.OSALNVReadExt of the NIB-sized item)."""
    fake = FakeZnp(bytes.fromhex("00124B0000000002"))
    wire = mt.request("SYS.NVRead", SysId=1, ItemId=1, SubId=3, Offset=0, Length=11).encode()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            fake.receive(wire, 0.0)
        n += 200
    return n / (time.perf_counter() - t0)


def _ncp_alone(seconds: float) -> float:
    """EZSP commands per second through the sans-IO fake NCP alone, ASH included: getNetworkParameters
    in a DATA frame, the ACK and the randomised response back (acknowledged, so the window never fills)."""
    fake = FakeNcp(bytes.fromhex("000D6F0000000002"))
    fake.receive(AshFrame(Kind.RST).encode(), 0.0)
    host = AshNcp()  # only its frame numbering is borrowed: the host's side of the link
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            frame = AshFrame(Kind.DATA, host.tx_seq, fake.ash.tx_seq, data=ez.request("getNetworkParameters", n & 0xFF))
            host.tx_seq = (host.tx_seq + 1) & 7
            fake.receive(frame.encode(), 0.0)
            n += 1
    return n / (time.perf_counter() - t0)


def run(seconds: float = 1.0) -> JsonObject:
    size = 64 * 1024 if seconds >= 1 else 16 * 1024
    commands = 400 if seconds >= 1 else 100
    figures: JsonObject = {"image_bytes": size, "commands": commands}
    for radio_type, label in (("znp", "zigpy_znp"), ("ezsp", "bellows")):
        for key, value in run_loop(_startup(radio_type)).items():
            figures[f"{label}_{key}"] = value
    virtual = run_loop(_work(None, size, commands))
    for key, value in virtual.items():
        figures[f"virtual_bus_{key}"] = value
    for label, factory in (("zigpy_znp", fake_znp_han), ("bellows", fake_ezsp_han)):
        measured = run_loop(_work(factory(VirtualClock()), size, commands))
        for key, value in measured.items():
            figures[f"{label}_{key}"] = value
        figures[f"{label}_vs_virtual_commands"] = measured["commands_per_s"] / virtual["commands_per_s"]
    figures["fake_mt_requests_per_s"] = _fake_alone(seconds)
    figures["fake_ezsp_commands_per_s"] = _ncp_alone(seconds)
    return figures
