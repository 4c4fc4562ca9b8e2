"""What the radio-tier tests share: the meter they join, a listener that records what the CHF's
radio hands up, and a wait on a condition with a deadline."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from pathlib import Path

from emulator.transport.han import HanPacket, NullListener

METER = bytes.fromhex("00DB1234567890A0")
KEY = bytes(range(16))


class Recorder(NullListener):
    def __init__(self) -> None:
        self.packets: list[HanPacket] = []
        self.joined: list[bytes] = []

    def packet_received(self, packet: HanPacket) -> None:
        self.packets.append(packet)

    def device_joined(self, eui: bytes, nwk: int) -> None:
        self.joined.append(eui)


async def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Poll ``condition`` every 0.1 s; fail naming the deadline when it is not met in time."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {seconds} s")


def pcap_frames(path: Path) -> list[bytes]:
    """The frames of a classic pcap file (24-byte file header, 16-byte record headers): read here
    independently of the project's writer, so the tests check what it wrote."""
    data = path.read_bytes()
    frames, pos = [], 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from("<IIII", data, pos)
        frames.append(data[pos + 16:pos + 16 + incl])
        pos += 16 + incl
    return frames
