"""The HAN adapters carry and decide nothing but a trust centre's rules (issue 15.4, 15.2):
the virtual bus (IC-2 joins, delivery in order, sleepy devices' held frames, loss, duplicates,
removal) and the device runners (bytes between a core, its radio or link, and the WAN port).
All on virtual time; every wait has a deadline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from emulator.clock import VirtualClock, run, until
from emulator.devices.base import Output, WanFrame
from emulator.devices.chf import Chf, UnackedAlert
from emulator.devices.endpoint import GbcsEndpoint, TrustAnchors
from emulator.devices.gsme import FAST_POLL_S, Gsme
from emulator.devices.profile import MeterProfile
from emulator.gbcs import frames
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.keys import KeyStore
from emulator.transport.device_runner import ChfRunner, MeterRunner
from emulator.transport.han import HanDeviceLink, HanPacket, HanRadio, JoinRefused, JoinRefusedReason, NullListener
from emulator.transport.virtual_han import Impairments, VirtualHan
from emulator.transport.wan import DownHandler, HubPort
from emulator.transport.wan_messages import Ack, Command, DeviceAlert, UnreachableEvent, UpMessage
from emulator.zigbee.clusters import ota
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.packet import CLUSTER_OTA, CLUSTER_TUNNELING

CHF = bytes.fromhex("00DB1234567890A2")
ESME = bytes.fromhex("00DB1234567890A0")
GSME = bytes.fromhex("00DB1234567890A1")
KEY = bytes(range(16))


@dataclass
class Recorder:
    """A HanListener that writes down what it is told."""

    packets: list[HanPacket] = field(default_factory=list)
    joined: list[tuple[bytes, int]] = field(default_factory=list)
    left: list[bytes] = field(default_factory=list)
    refused: list[tuple[bytes, str]] = field(default_factory=list)

    def packet_received(self, packet: HanPacket) -> None:
        self.packets.append(packet)

    def device_joined(self, eui: bytes, nwk: int) -> None:
        self.joined.append((eui, nwk))

    def device_left(self, eui: bytes) -> None:
        self.left.append(eui)

    def join_refused(self, eui: bytes, reason: str) -> None:
        self.refused.append((eui, reason))

    def connection_lost(self, error: Exception | None) -> None: ...


def _packet(src: bytes, dst: bytes, n: int) -> HanPacket:
    return HanPacket(src, dst, CLUSTER_TUNNELING, bytes((0x01, n, 0x00)))


# --- the virtual bus ---------------------------------------------------------------------------------

def test_ic2_the_trust_centre_admits_exactly_the_permitted_eui_with_its_key_and_in_time():
    async def main() -> None:
        bus = VirtualHan()
        hub = Recorder()
        radio = bus.radio(CHF)
        await radio.start(hub)
        link = bus.attach(ESME, NullListener())
        with pytest.raises(JoinRefused) as e:
            await link.join(KEY)
        assert e.value.reason == JoinRefusedReason.NOT_IN_DEVICE_LOG
        await radio.permit_join(ESME, KEY, 60)
        with pytest.raises(JoinRefused) as e:
            await link.join(bytes(16))
        assert e.value.reason == JoinRefusedReason.WRONG_LINK_KEY
        await asyncio.sleep(61)
        with pytest.raises(JoinRefused) as e:
            await link.join(KEY)
        assert e.value.reason == JoinRefusedReason.PERMIT_EXPIRED
        await radio.permit_join(ESME, KEY, 60)
        nwk = await link.join(KEY)
        assert hub.joined == [(ESME, nwk)] and [r for _, r in hub.refused] == [
            JoinRefusedReason.NOT_IN_DEVICE_LOG, JoinRefusedReason.WRONG_LINK_KEY, JoinRefusedReason.PERMIT_EXPIRED]
        assert (bus.stats.joins, bus.stats.joins_refused) == (1, 3)
        await radio.remove(ESME)
        assert hub.left == [ESME]

    run(main())


def test_frames_arrive_in_order_after_the_latency_and_not_at_all_for_a_device_not_joined():
    async def main() -> None:
        bus = VirtualHan(impairments=Impairments(latency_s=0.010))
        radio = bus.radio(CHF)
        await radio.start(NullListener())
        meter = Recorder()
        link = bus.attach(ESME, meter)
        await radio.send(_packet(CHF, ESME, 0))  # not joined: dropped
        assert bus.stats.dropped_unjoined == 1
        await radio.permit_join(ESME, KEY, 60)
        nwk = await link.join(KEY)
        for n in range(1, 6):
            await radio.send(_packet(CHF, ESME, n))
        assert meter.packets == []  # on the air for 10 ms
        assert await until(lambda: len(meter.packets) == 5, 1), f"5 frames not delivered in 1 s: {bus.stats}"
        assert [p.payload[1] for p in meter.packets] == [1, 2, 3, 4, 5]
        assert {p.dst_nwk for p in meter.packets} == {nwk}  # the radio addresses the joined device

    run(main())


def test_dv7_a_sleepy_device_gets_its_frames_only_when_it_polls_and_old_ones_expire():
    async def main() -> None:
        bus = VirtualHan(indirect_timeout_s=7.5, max_held=3)
        radio = bus.radio(CHF)
        await radio.start(NullListener())
        meter = Recorder()
        link = bus.attach(GSME, meter, sleepy=True)
        await radio.permit_join(GSME, KEY, 60)
        await link.join(KEY)
        await radio.send(_packet(CHF, GSME, 1))
        await asyncio.sleep(10)  # held longer than the indirect time-out: gone
        await radio.send(_packet(CHF, GSME, 2))
        for n in (3, 4, 5):
            await radio.send(_packet(CHF, GSME, n))  # more than max_held: the oldest goes
        await asyncio.sleep(0.1)
        assert meter.packets == []  # never pushed to a sleepy device
        got = await link.poll()
        assert [p.payload[1] for p in got] == [3, 4, 5] and bus.stats.expired == 2
        assert await link.poll() == []

    run(main())


def test_loss_and_duplication_are_counted_and_shown_to_the_tap():
    async def main() -> None:
        seen: list[bool] = []
        bus = VirtualHan(impairments=Impairments(loss=1.0), tap=lambda t, p, delivered: seen.append(delivered))
        radio = bus.radio(CHF)
        hub = Recorder()
        await radio.start(hub)
        link = bus.attach(ESME, Recorder())
        await radio.permit_join(ESME, KEY, 60)
        await link.join(KEY)
        await link.send(_packet(ESME, CHF, 1))
        bus.impairments = Impairments(duplicate=1.0)
        await link.send(_packet(ESME, CHF, 2))
        assert await until(lambda: len(hub.packets) == 2, 1), f"the duplicate did not arrive: {bus.stats}"
        assert (bus.stats.lost, bus.stats.duplicated) == (1, 1) and seen == [False, True]
        assert [p.payload[1] for p in hub.packets] == [2, 2]

    run(main())


# --- the runners carry -----------------------------------------------------------------------------

class FakeLink(HanDeviceLink):
    def __init__(self) -> None:
        self.sent: list[HanPacket] = []
        self.polls: list[float] = []
        self.held: list[HanPacket] = []

    async def join(self, link_key: bytes) -> int:
        return 0x1001

    async def send(self, packet: HanPacket) -> None:
        self.sent.append(packet)

    async def poll(self) -> list[HanPacket]:
        self.polls.append(asyncio.get_running_loop().time())
        held, self.held = self.held, []
        return held

    async def leave(self) -> None: ...


def test_meter_runner_polls_when_the_gsme_core_says_and_only_then():
    async def main() -> None:
        clock = VirtualClock()
        gsme = Gsme(GSME, GbcsEndpoint(GSME, KeyStore(), TrustAnchors()), CHF, MeterProfile(wake_period_s=30.0),
                    clock.now())
        link = FakeLink()
        runner = MeterRunner(gsme, lambda r: link, clock)
        t0 = asyncio.get_running_loop().time()
        await runner.join(KEY)
        assert await until(lambda: len(link.polls) >= 1, 1), "no poll after the join"
        # The core's cycle: a poll 0.25 s after the join (for the tunnel's answer), nothing until the
        # wake at +30 s (poll, report, tunnel request, Query Next Image), then every 0.25 s while the
        # query is open; the hub's "no image" arrives with the 30.75 s poll and the polls stop until
        # the next wake at +60 s.
        await asyncio.sleep(30.6 - (asyncio.get_running_loop().time() - t0))
        no_image = ota.QueryNextImageResponse(ota.NO_IMAGE_AVAILABLE).encode(9)
        link.held.append(HanPacket(CHF, GSME, CLUSTER_OTA, no_image))
        await asyncio.sleep(59.9 - (asyncio.get_running_loop().time() - t0))
        assert not gsme.busy
        await asyncio.sleep(0.2)
        offsets = [round(t - t0, 2) for t in link.polls]
        assert offsets == [FAST_POLL_S, 30.0, 30.25, 30.5, 30.75, 60.0], offsets
        assert link.sent[0].cluster == CLUSTER_TUNNELING  # Request Tunnel, sent at the join
        await runner.stop()

    run(main())


class FakeRadio(HanRadio):
    def __init__(self, limit: int | None = None) -> None:
        self.sent: list[HanPacket] = []
        self.permits: list[tuple[bytes, bytes, float]] = []
        self.limit = limit

    async def start(self, listener: object) -> None: ...  # type: ignore[override]

    async def stop(self) -> None: ...

    async def send(self, packet: HanPacket) -> None:
        self.sent.append(packet)

    async def permit_join(self, eui: bytes, link_key: bytes, seconds: float) -> None:
        self.permits.append((eui, link_key, seconds))

    async def remove(self, eui: bytes) -> None: ...

    @property
    def eui(self) -> bytes:
        return CHF

    @property
    def max_payload(self) -> int | None:
        return self.limit


class FakePort(HubPort):
    def __init__(self) -> None:
        self.up: list[UpMessage] = []
        self.down: DownHandler | None = None

    async def start(self, on_down: DownHandler) -> None:
        self.down = on_down

    async def send(self, message: UpMessage) -> None:
        self.up.append(message)

    async def stop(self) -> None: ...


def test_chf_runner_tells_the_core_its_radio_limit_and_carries_frames_up_by_their_id():
    async def main() -> None:
        clock = VirtualClock()
        chf = Chf(CHF, GbcsEndpoint(CHF, KeyStore(), TrustAnchors()), bytes.fromhex("0123ABCD"))
        radio, port = FakeRadio(limit=82), FakePort()
        runner = ChfRunner(chf, radio, port, clock)
        await runner.start()
        assert chf.max_han_payload == 82
        frame = WanFrame(bytes.fromhex("DD00"), "alert", ESME, 7)
        await runner._apply(Output(wan=[frame]))
        assert port.up == [DeviceAlert(frame.id, Eui64(ESME), 7, bytes.fromhex("DD00"))]
        await runner.stop()

    run(main())


def test_chf_runner_hands_acks_to_the_core_and_reports_an_unreachable_device_with_the_request():
    async def main() -> None:
        clock = VirtualClock()
        chf = Chf(CHF, GbcsEndpoint(CHF, KeyStore(), TrustAnchors()), bytes.fromhex("0123ABCD"))
        radio, port = FakeRadio(), FakePort()
        runner = ChfRunner(chf, radio, port, clock)
        await runner.start()
        assert port.down is not None
        frame = WanFrame(bytes.fromhex("DD01"), "alert", ESME, 8)
        chf.unacked[frame.id] = UnackedAlert(frame, clock.now() + 30)
        await port.down(Ack("a1", (frame.id,)))
        assert chf.unacked == {}
        # A command for a device the hub has never heard of: one "unreachable" event, with the request id.
        wire = frames.encode(Message(Cra.COMMAND, 5, bytes.fromhex("90B3D51F30010000"), ESME, 0x0027, b"\x00",
                                     mac_protected=False))
        await port.down(Command("r1", "R-1", wire))
        assert port.up == [UnreachableEvent("ur1", "R-1", "not in the device log", Eui64(ESME))]
        await port.down(Command("r2", "R-2", b"zz"))  # not GBCS: the CHF refuses it, the runner keeps running
        assert len(port.up) == 1
        await runner.stop()

    run(main())
