"""The virtual bus has the air's frame limit and crosses larger frames in APS fragments (issue 14,
deliverable 1): windows, an acknowledgement per window, a lost block sent again, reassembly, and a
frame beyond the reassembly limit refused. Figures are written from Zigbee PRO (05-3474 2.2.8.4.5)
and the 127-byte PHY payload, not read from the module under test."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path
from typing import Any

from emulator.clock import run, until
from emulator.transport.han import HanPacket, NullListener
from emulator.transport.virtual_han import VirtualHan
from emulator.zigbee import aps
from emulator.zigbee.pcap import parse_frame

HUB = bytes.fromhex("00DB1234567890FF")
METER = bytes.fromhex("00DB123456789001")
KEY = bytes(range(16))
#: One secured frame carries 73 ASDU bytes unfragmented, 71 in a block (the APS extended header is
#: 2 bytes): 127 - MAC 9 - FCS 2 - NWK 8 - NWK aux 14 - MIC 4 - APS 8 - APS aux 5 - MIC 4 = 73.
UNFRAGMENTED = 73
BLOCK = 71


class Collect(NullListener):
    """Keeps the frames it is handed; ignores the rest."""

    def __init__(self) -> None:
        self.packets: list[HanPacket] = []

    def packet_received(self, packet: HanPacket) -> None:
        self.packets.append(packet)


class DropBlockOnce(VirtualHan):
    """The air loses the first transmission of one block (deterministic, unlike seeded loss)."""

    def __init__(self, index: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.drop_index = index
        self.dropped = 0

    def _transmit(self, packet: HanPacket, to: Any, tag: int = 0) -> None:
        if packet.fragment is not None and packet.fragment[0] == self.drop_index and not self.dropped:
            self.dropped += 1
            self._tap(packet, False)
            return
        super()._transmit(packet, to, tag)


def _payload(n: int) -> bytes:
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


async def _pair(bus: VirtualHan, *, sleepy: bool = False) -> tuple[Any, Any, Collect, Collect]:
    hub, meter = Collect(), Collect()
    radio = bus.radio(HUB)
    await radio.start(hub)
    link = bus.attach(METER, meter, sleepy=sleepy)
    await radio.permit_join(METER, KEY, 60)
    await link.join(KEY)
    return radio, link, hub, meter


def test_a_499_byte_command_crosses_the_virtual_bus_in_fragments() -> None:
    async def main() -> None:
        taps: list[tuple[HanPacket, bool]] = []
        bus = VirtualHan(tap=lambda t, p, ok: taps.append((p, ok)))
        radio, _, _, meter = await _pair(bus)
        big = _payload(499)
        await radio.send(HanPacket(HUB, METER, 0x0704, big))
        assert await until(lambda: bool(meter.packets), 30)
        assert [p.payload for p in meter.packets] == [big]
        assert meter.packets[0].fragment is None
        blocks = [p for p, _ in taps if p.fragment is not None]
        # ceil(499 / 71) = 8 blocks, the first 7 full, the last 2 bytes
        assert [p.fragment for p in blocks] == [(i, 8) for i in range(8)]
        assert [len(p.payload) for p in blocks] == [BLOCK] * 7 + [2]
        assert bus.stats.fragmented == 1 and bus.stats.fragment_resends == 0

    run(main())


def test_the_frame_limit_is_what_one_unfragmented_zigbee_frame_carries() -> None:
    async def main() -> None:
        taps: list[HanPacket] = []
        bus = VirtualHan(tap=lambda t, p, ok: taps.append(p))
        radio, link, hub, meter = await _pair(bus)
        await radio.send(HanPacket(HUB, METER, 0x0704, _payload(UNFRAGMENTED)))
        await link.send(HanPacket(METER, HUB, 0x0704, _payload(UNFRAGMENTED + 1)))
        assert await until(lambda: bool(meter.packets) and bool(hub.packets), 30)
        assert [p.fragment for p in taps] == [None, (0, 2), (1, 2)]  # down whole, up in two blocks
        assert hub.packets[0].payload == _payload(UNFRAGMENTED + 1)

    run(main())


def test_a_lost_fragment_is_sent_again_and_the_frame_arrives_once() -> None:
    async def main() -> None:
        taps: list[tuple[HanPacket, bool]] = []
        bus = DropBlockOnce(6, tap=lambda t, p, ok: taps.append((p, ok)))
        _, link, hub, _ = await _pair(bus)
        big = _payload(499)
        await link.send(HanPacket(METER, HUB, 0x0704, big))  # up: the meter's APS fragments
        assert await until(lambda: bool(hub.packets), 60)
        assert [p.payload for p in hub.packets] == [big]
        await until(lambda: False, 10)  # nothing more comes: no duplicate delivery
        assert len(hub.packets) == 1
        assert bus.dropped == 1 and bus.stats.fragment_resends == 1
        # window 1 (blocks 0-4) whole; window 2 (5-7) with block 6 lost, then window 2 again, once
        sent = [(p.fragment[0], ok) for p, ok in taps if p.fragment is not None]
        assert sent == [(0, True), (1, True), (2, True), (3, True), (4, True),
                        (5, True), (6, False), (7, True), (5, True), (6, True), (7, True)]

    run(main())


def test_a_frame_never_acknowledged_is_given_up_after_the_retries() -> None:
    async def main() -> None:
        bus = VirtualHan()
        radio, link, _, meter = await _pair(bus)
        await link.leave()  # the meter is gone: nobody acknowledges
        await radio.send(HanPacket(HUB, METER, 0x0704, _payload(200)))
        assert await until(lambda: bus.stats.fragmented_failed == 1, 60)
        assert bus.stats.fragment_resends == 3  # apscMaxFrameRetries
        assert "never acknowledged after 3 retries" in bus.stats.notes[-1]
        assert not meter.packets

    run(main())


def test_a_frame_beyond_the_reassembly_limit_is_refused_naming_the_limit() -> None:
    async def main() -> None:
        bus = VirtualHan(reassembly_limit=400)
        radio, _, _, meter = await _pair(bus)
        assert radio.max_payload == 400
        await radio.send(HanPacket(HUB, METER, 0x0704, _payload(499)))
        await until(lambda: bool(meter.packets), 5)
        assert not meter.packets and bus.stats.too_large == 1
        assert "a 499-byte frame exceeds the 400-byte APS reassembly limit" in bus.stats.notes[-1]
        # The default limit is what a one-byte block count allows: 255 blocks of 71 bytes.
        default = VirtualHan()
        radio2, _, _, _ = await _pair(default)
        assert radio2.max_payload == 255 * BLOCK
        await radio2.send(HanPacket(HUB, METER, 0x0704, _payload(255 * BLOCK + 1)))
        assert default.stats.too_large == 1 and "18106-byte frame exceeds the 18105-byte" in default.stats.notes[-1]

    run(main())


def test_a_sleepy_device_finds_a_fragmented_frame_whole_when_it_polls() -> None:
    async def main() -> None:
        bus = VirtualHan()
        radio, link, _, meter = await _pair(bus, sleepy=True)
        await radio.send(HanPacket(HUB, METER, 0x0704, _payload(300)))
        await until(lambda: bus.stats.held_for_sleepy > 0, 30)
        held = await link.poll()
        assert [p.payload for p in held] == [_payload(300)] and not meter.packets

    run(main())


def test_frame_limit_none_is_the_unlimited_bus() -> None:
    async def main() -> None:
        taps: list[HanPacket] = []
        bus = VirtualHan(frame_limit=None, tap=lambda t, p, ok: taps.append(p))
        radio, _, _, meter = await _pair(bus)
        assert radio.max_payload is None
        await radio.send(HanPacket(HUB, METER, 0x0704, _payload(499)))
        assert await until(lambda: bool(meter.packets), 30)
        assert [p.fragment for p in taps] == [None]

    run(main())


def test_dv7_ic3_mp121_on_the_virtual_bus_the_623_update_crosses_in_fragments(tmp_path: Path) -> None:
    """The virtual HAN no longer hides fragmentation: the 499-byte-and-more 6.23 credentials update
    crosses as a run of APS blocks, which the pcap shows (first block with the count, the rest numbered)."""
    from emulator.scenarios import journeys
    from emulator.scenarios.runner import RunOptions
    from emulator.scenarios.runner import run_sync as run_journey

    pcap, trace = tmp_path / "mp121.pcap", tmp_path / "mp121.jsonl"
    profiles, journey = journeys.get("mp121")
    report = run_journey(RunOptions("mp121", broker="memory", quiet=True, pcap=pcap, trace=trace), profiles, journey)
    steps = {s.id: s for s in report.steps}
    assert report.ok and steps["credentials"].ok
    largest = max(len(bytes.fromhex(r["hex"])) for r in map(json.loads, trace.read_text().splitlines())
                  if r["link"] == "han" and r["direction"] == "down")
    assert largest >= 499
    data, pos, blocks = pcap.read_bytes(), 24, []
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<IIII", data, pos)[2]
        frame = parse_frame(data[pos + 16:pos + 16 + incl])
        if frame.aps.cluster == 0x0704 and frame.aps.fragmentation is not None:
            blocks.append(frame.aps)
        pos += 16 + incl
    firsts = [b.block_number for b in blocks if b.fragmentation is aps.Fragmentation.FIRST_BLOCK]
    assert max(firsts) >= -(-largest // BLOCK)  # at least the blocks of 71 bytes the GBCS alone needs
    later = {b.block_number for b in blocks if b.fragmentation is aps.Fragmentation.SUBSEQUENT_BLOCK}
    assert set(range(1, 8)) <= later


def test_fragmented_frames_survive_a_lossy_duplicating_air_each_arriving_once_and_whole() -> None:
    """Seeded loss and duplication: blocks and acknowledgements are lost or repeated; every message
    that is not given up arrives exactly once, whole, in order."""
    from emulator.transport.virtual_han import Impairments

    async def main() -> None:
        bus = VirtualHan(seed=7, impairments=Impairments(loss=0.1, duplicate=0.2))
        radio, _, _, meter = await _pair(bus)
        sent = [_payload(150 + 37 * i) for i in range(12)]
        for data in sent:
            await radio.send(HanPacket(HUB, METER, 0x0704, data))
        done = lambda: len(meter.packets) + bus.stats.fragmented_failed == len(sent)  # noqa: E731
        assert await until(done, 600)
        got = [p.payload for p in meter.packets]
        assert len(set(got)) == len(got) and all(g in sent for g in got)
        assert got == [s for s in sent if s in got]  # one message at a time per link: in order
        assert bus.stats.fragment_resends > 0 and bus.stats.duplicated > 0

    run(main())


def test_back_to_back_blocks_leave_in_turn_and_need_no_resend() -> None:
    """The bus's blocks leave with no gap (its latency is its airtime). asyncio runs timers due at the
    same instant in no set order, and windows whose blocks overtook each other waited 1.6 s for their
    resend: 20 two-block messages each way, queued at once, must all arrive in order with no resend."""
    async def main() -> None:
        bus = VirtualHan()
        radio, link, hub, meter = await _pair(bus)
        down = [_payload(100 + i) for i in range(20)]
        up = [_payload(120 + i) for i in range(20)]
        for a, b in zip(down, up, strict=True):
            await radio.send(HanPacket(HUB, METER, 0x0704, a))
            await link.send(HanPacket(METER, HUB, 0x0704, b))
        assert await until(lambda: len(meter.packets) == 20 and len(hub.packets) == 20, 30), \
            f"{len(meter.packets)} and {len(hub.packets)} of 20 arrived"
        assert [p.payload for p in meter.packets] == down and [p.payload for p in hub.packets] == up
        assert bus.stats.fragment_resends == 0

    asyncio.run(main())  # real time: the loop's own order of timers due at one instant
