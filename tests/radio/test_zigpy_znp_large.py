"""Large frames through the real zigpy-znp and the fake Z-Stack over loopback TCP (issue 14.1):
the CHF's 499-byte command through AF.DataStore and APS fragments, a meter's 300-byte answer
back through AF.IncomingMsgExt and AF.DataRetrieve; MP121's 6.23 credentials update crossing in
fragments in the pcap; a radio that cannot carry a frame still refuses it at once (E20)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.clock import VirtualClock, run
from emulator.devices.profile import PremisesProfile
from emulator.hardware import RadioProfile
from emulator.scenarios.steps import install
from emulator.scenarios.world import SUPPLIER, build_world
from emulator.transport.fake_znp import FakeZnpAir
from emulator.transport.han import HanPacket
from emulator.transport.virtual_han import VirtualHan, VirtualRadio
from emulator.transport.zigpy_han import ZigpyRadio
from emulator.zigbee import aps
from emulator.zigbee.packet import CLUSTER_TUNNELING
from emulator.zigbee.pcap import parse_frame
from emulator.znp.fake import FakeZnp
from tests.radio.radio_support import KEY, METER, Recorder, pcap_frames, wait_for

pytest.importorskip("zigpy_znp")

STICK = bytes.fromhex("00124B00AABB0001")


def test_dv7_a_499_byte_command_goes_down_and_a_300_byte_answer_comes_up_in_fragments():
    async def main() -> None:
        clock = VirtualClock()
        tapped: list[HanPacket] = []
        air = FakeZnpAir(FakeZnp(STICK, seed=1), clock, tap=lambda t, p, ok: tapped.append(p))
        radio = ZigpyRadio(RadioProfile("fake", "znp", await air.serve_tcp()))
        hub, meter = Recorder(), Recorder()
        await radio.start(hub)
        link = air.attach(METER, meter)
        await radio.permit_join(METER, KEY, 120)
        await wait_for(lambda: METER in air.fake.install_codes and air.fake.permit_until > 0)
        nwk = await link.join(KEY)
        await wait_for(lambda: METER in hub.joined)
        assert air.fake.large.apsf[9].window == 1 and air.fake.large.apsf[9].frame_delay_ms == 50  # APSFConfigSet

        command = bytes((i * 13 + 1) & 0xFF for i in range(499))
        await radio.send(HanPacket(radio.eui, METER, CLUSTER_TUNNELING, command, src_ep=9, dst_ep=1, dst_nwk=nwk))
        await wait_for(lambda: any(p.payload == command for p in meter.packets))
        # DataRequestExt (length only), 3 DataStores (247 + 247 + 5), the zero-length one that sends;
        # 8 blocks of at most 71 bytes on the air, one per window; confirmed once the last is acknowledged.
        assert air.fake.handled["AF.DataStore"] == 4 and radio.large is not None and radio.large.stats.sent == 1
        assert air.stats.fragments_down == 8 and radio.stats.sent == 1 and radio.stats.send_failed == 0
        down = [p for p in tapped if p.fragment is not None and p.dst == METER]
        assert [p.fragment for p in down] == [(i, 8) for i in range(8)]
        assert b"".join(p.payload for p in down) == command

        answer = bytes((i * 7 + 3) & 0xFF for i in range(300))
        await link.send(HanPacket(METER, radio.eui, CLUSTER_TUNNELING, answer, src_ep=1, dst_ep=9, src_nwk=nwk,
                                  dst_nwk=0))
        await wait_for(lambda: any(p.payload == answer for p in hub.packets))
        got = next(p for p in hub.packets if p.payload == answer)
        assert (got.src, got.cluster, got.src_ep, got.dst_ep) == (METER, CLUSTER_TUNNELING, 1, 9)
        # 5 blocks up; announced by IncomingMsgExt with no data, fetched in 2 retrieves, then freed.
        assert air.stats.fragments_up == 5 and air.fake.handled["AF.DataRetrieve"] == 3
        assert radio.large.stats.received == 1 and not air.fake.large.held

        # The meter goes quiet (off the air): its blocks are sent again, then the stick gives up
        # with APS_NO_ACK and the hub's send fails, rather than waiting for ever.
        del air.devices[METER]
        await radio.send(HanPacket(radio.eui, METER, CLUSTER_TUNNELING, command, src_ep=9, dst_ep=1, dst_nwk=nwk))
        # Window 1: the first block, then 3 retries of it.
        assert radio.stats.send_failed == 1 and air.stats.fragments_down == 8 + 1 + 3
        assert any("after 3 retries" in n for n in air.stats.notes)
        await radio.stop()
        await air.stop()

    run(main())


def test_dv7_ic3_mp121_over_zigpy_znp_the_623_credentials_update_crosses_in_fragments(tmp_path: Path):
    report_path, pcap, trace = tmp_path / "mp121.json", tmp_path / "mp121.pcap", tmp_path / "mp121.jsonl"
    r = subprocess.run([sys.executable, "-m", "emulator", "run", "mp121", "--han", "fake-znp", "--broker", "memory",
                        "--quiet", "--report", str(report_path), "--pcap", str(pcap), "--trace", str(trace)],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    steps = {s["id"]: s for s in json.loads(report_path.read_text())["steps"]}
    assert steps["credentials"]["ok"] and steps["join"]["ok"]
    # The largest GBCS command on the HAN (the 6.23 update, two frames' worth and more) reached the
    # trace whole, and crossed as a run of APS blocks: first block with the count, the rest numbered.
    largest = max(len(bytes.fromhex(record["hex"])) for record in map(json.loads, trace.read_text().splitlines())
                  if record["link"] == "han" and record["direction"] == "down")
    assert largest > 2 * 230
    blocks = [f.aps for f in map(parse_frame, pcap_frames(pcap))
              if f.aps.cluster == CLUSTER_TUNNELING and f.aps.fragmentation is not None]
    firsts = [b.block_number for b in blocks if b.fragmentation is aps.Fragmentation.FIRST_BLOCK]
    assert max(firsts) >= -(-largest // 71)  # at least as many blocks of 71 bytes as the GBCS alone needs
    later = [b.block_number for b in blocks if b.fragmentation is aps.Fragmentation.SUBSEQUENT_BLOCK]
    assert set(range(1, 8)) <= set(later)


class _SmallRadio(VirtualRadio):
    """A radio that really cannot carry more than one unfragmented frame (an EZSP NCP without host
    fragmentation, say): its limit is stated, and the hub refuses bigger commands at once."""

    @property
    def max_payload(self) -> int | None:
        return 82


class _SmallHan(VirtualHan):
    def radio(self, eui: bytes) -> VirtualRadio:
        inner = super().radio(eui)
        inner.__class__ = _SmallRadio
        return inner


def test_dv7_a_radio_that_cannot_carry_the_command_refuses_it_at_once_naming_its_limit():
    async def main() -> None:
        clock = VirtualClock()

        async def han(index: int, chf: bytes) -> VirtualHan:
            return _SmallHan(seed=index)

        w = await build_world(clock, [PremisesProfile()], han=han)
        p = w.premises[0]
        await install(w, p, w.users[SUPPLIER])
        t0 = clock.now()
        _, final = await w.users[SUPPLIER].send("8.1.1", p.esme.hex().upper())
        assert final is not None and final.code == "E20"
        assert "needs a 238-byte HAN frame and this radio carries at most 82" in final.message
        assert clock.now() - t0 < 5  # at once, not after the 25 s time-out
        await w.stop()

    run(main())
