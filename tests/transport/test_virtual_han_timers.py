"""The virtual bus carries a window of back-to-back blocks in one delivery: with zero airtime a
block and its hop need not each be a timer on the loop (issue 13: the bus's timers were a large
share of the fleet worker's CPU). Same semantics (tests/transport/test_virtual_han_fragments.py),
fewer loop turns: counted here on the loop itself."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator.clock import run, until
from emulator.transport.han import HanPacket, NullListener
from emulator.transport.virtual_han import VirtualHan

HUB = bytes.fromhex("00DB1234567890FF")
METER = bytes.fromhex("00DB123456789001")
KEY = bytes(range(16))


class _Collect(NullListener):
    """Keeps the frames it is handed; ignores the rest."""

    def __init__(self) -> None:
        self.packets: list[HanPacket] = []

    def packet_received(self, packet: HanPacket) -> None:
        self.packets.append(packet)


def test_a_fragmented_message_costs_the_loop_about_two_timers_not_one_per_block_and_hop() -> None:
    async def main() -> None:
        bus = VirtualHan()
        hub, meter = _Collect(), _Collect()
        radio = bus.radio(HUB)
        await radio.start(hub)
        link = bus.attach(METER, meter)
        await radio.permit_join(METER, KEY, 60)
        await link.join(KEY)
        loop = asyncio.get_running_loop()
        timers = 0
        real_call_at = loop.call_at

        def counting(when: float, callback: Any, *args: Any, **kw: Any) -> asyncio.TimerHandle:
            nonlocal timers
            timers += 1
            return real_call_at(when, callback, *args, **kw)

        loop.call_at = counting  # type: ignore[method-assign]
        # 20 three-block messages each way (a 4.1.1 command and its answer are this size)
        down = [bytes((i,)) * (150 + i) for i in range(20)]
        up = [bytes((i + 1,)) * (180 + i) for i in range(20)]
        for a, b in zip(down, up, strict=True):
            await radio.send(HanPacket(HUB, METER, 0x0704, a))
            await link.send(HanPacket(METER, HUB, 0x0704, b))
        assert await until(lambda: len(meter.packets) == 20 and len(hub.packets) == 20, 30)
        loop.call_at = real_call_at  # type: ignore[method-assign]
        assert [p.payload for p in meter.packets] == down and [p.payload for p in hub.packets] == up
        assert bus.stats.fragments == 120 and bus.stats.fragment_resends == 0
        # a window's blocks: one delivery; its acknowledgement: one; the acknowledgement deadline:
        # a few per link, not one per window (block by block this was 362 in all)
        assert timers <= 2 * 40 + 10, timers

    run(main())
