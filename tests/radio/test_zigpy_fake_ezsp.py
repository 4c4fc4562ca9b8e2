"""The EZSP tier (DV-7, IC-2, issue 14): the CHF on the real bellows driving the project's fake
EmberZNet NCP over loopback TCP. Network formed, install-code joins (and refusals), GBCS through
the Tunneling cluster, host-side APS fragmentation both ways (a 499-byte command down in blocks,
a 300-byte answer up, acknowledged block by block by bellows), a quiet meter failing the send, and
the UIT, SIT and MP121 journeys with every hub on bellows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.clock import RealClock, VirtualClock, run, until
from emulator.devices.profile import PremisesProfile
from emulator.ezsp.fake import FakeNcp
from emulator.scenarios.steps import commission, install, send_ok
from emulator.scenarios.world import SUPPLIER, build_world
from emulator.transport.fake_ezsp import FakeEzspAir, fake_ezsp_han
from emulator.transport.han import HanPacket
from emulator.transport.zigpy_han import ZigpyRadio
from emulator.zigbee import aps
from emulator.zigbee.install_code import link_key_from_install_code, with_crc
from emulator.zigbee.packet import CLUSTER_TUNNELING
from emulator.zigbee.pcap import parse_frame
from tests.radio.radio_support import KEY, METER, Recorder, pcap_frames, wait_for

pytest.importorskip("bellows")

NCP = bytes.fromhex("000D6F00AABB0001")


def test_dv7_ic2_chf_on_bellows_joins_and_carries_gbcs():
    async def main() -> None:
        clock = VirtualClock()
        w = await build_world(clock, [PremisesProfile()], han=fake_ezsp_han(clock))
        p = w.premises[0]
        air = p.bus
        assert isinstance(air, FakeEzspAir) and air.url.startswith("socket://127.0.0.1:")
        radio = p.chf_runner.radio
        assert isinstance(radio, ZigpyRadio) and radio.fragmenter is not None
        info = radio.network_info()
        assert info["channel"] == 15 and info["ieee"] == p.chf.hex().upper() and info["firmware"].startswith("6.10.3")
        assert air.ncp.network is not None and air.ncp.handled["formNetwork"] == 1  # formed by bellows, on our NCP
        assert p.esme_runner is not None and p.gsme_runner is not None
        right = link_key_from_install_code(p.install_codes[p.esme])
        assert "not permitted" in (await p.esme_runner.try_join(right) or "")  # before SRV 8.11 (IC-2)
        await install(w, p, w.users[SUPPLIER])  # 8.11 -> CHF -> permit_with_link_key -> joins
        assert air.ncp.handled["addTransientLinkKey"] >= 2 and air.stats.joins == 2
        assert {p.esme, p.gsme} <= set(p.chf_runner.machine.nwk)
        wrong = link_key_from_install_code(with_crc(bytes(16)))
        assert "does not match the install code" in (await p.esme_runner.try_join(wrong) or "")
        await commission(w, p, w.users[SUPPLIER])  # 8.1.1 is 238 bytes: it crosses in blocks
        assert radio.fragmenter.stats.blocks >= 4 and radio.fragmenter.stats.failed == 0  # 238 bytes: 4 blocks
        _, final = await w.users[SUPPLIER].send("4.1.1", p.esme.hex().upper())  # GBCS both ways, tunnelled
        assert final is not None and final.code == "I0"
        assert radio.stats.received > 0 and radio.stats.send_failed == 0
        assert not [n for n in air.stats.notes if "MESSAGE_TOO_LONG" in n or "the host must fragment" in n]
        await w.stop()

    run(main())


def test_dv7_a_499_byte_command_goes_down_in_blocks_and_a_300_byte_answer_comes_up():
    async def main() -> None:
        clock = VirtualClock()
        tapped: list[HanPacket] = []
        air = FakeEzspAir(FakeNcp(NCP, seed=1), clock, tap=lambda t, p, ok: tapped.append(p))
        await air.serve_tcp()
        radio = air.radio(NCP)
        assert isinstance(radio, ZigpyRadio)
        hub, meter = Recorder(), Recorder()
        await radio.start(hub)
        link = air.attach(METER, meter)
        await radio.permit_join(METER, KEY, 120)
        await wait_for(lambda: METER in air.ncp.transient_keys and air.ncp.permit_until > 0)
        nwk = await link.join(KEY)
        await wait_for(lambda: METER in hub.joined)

        command = bytes((i * 13 + 1) & 0xFF for i in range(499))
        await radio.send(HanPacket(radio.eui, METER, CLUSTER_TUNNELING, command, src_ep=9, dst_ep=1, dst_nwk=nwk))
        await wait_for(lambda: any(p.payload == command for p in meter.packets))
        # 8 blocks of at most 71 bytes (APS-secured), one sendUnicast each, one per window, each confirmed
        # by its messageSentHandler once the meter's APS layer acknowledged it.
        assert radio.fragmenter is not None and radio.fragmenter.stats.blocks == 8
        assert radio.fragmenter.stats.sent == 1 and radio.stats.sent == 1 and radio.stats.send_failed == 0
        down = [p for p in tapped if p.fragment is not None and p.dst == METER]
        assert [p.fragment for p in down] == [(i, 8) for i in range(8)]
        assert b"".join(p.payload for p in down) == command and all(len(p.payload) <= 71 for p in down)

        answer = bytes((i * 7 + 3) & 0xFF for i in range(300))
        await link.send(HanPacket(METER, radio.eui, CLUSTER_TUNNELING, answer, src_ep=1, dst_ep=9, src_nwk=nwk,
                                  dst_nwk=0))
        await wait_for(lambda: any(p.payload == answer for p in hub.packets))
        got = next(p for p in hub.packets if p.payload == answer)
        assert (got.src, got.cluster, got.src_ep, got.dst_ep) == (METER, CLUSTER_TUNNELING, 1, 9)
        # 5 blocks up, each handed to bellows with the fragment flag; bellows reassembled them and
        # acknowledged each with a sendReply (group 0xFF00 | index).
        assert air.stats.fragments_up == 5 and air.ncp.handled["sendReply"] == 5

        # The meter goes quiet: its block is sent again 3 times, then the NCP reports DELIVERY_FAILED
        # and the hub's send fails, rather than waiting for ever.
        del air.devices[METER]
        before = air.stats.fragments_down
        await radio.send(HanPacket(radio.eui, METER, CLUSTER_TUNNELING, command, src_ep=9, dst_ep=1, dst_nwk=nwk))
        assert radio.stats.send_failed == 1 and radio.fragmenter.stats.failed == 1
        assert air.stats.fragments_down - before == 1 + 3
        assert any("after 3 retries" in n for n in air.stats.notes)
        await radio.stop()
        await air.stop()

    run(main())


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_dv7_ic3_mp121_over_bellows_the_623_credentials_update_crosses_in_fragments(tmp_path: Path):
    report_path, pcap, trace = tmp_path / "mp121.json", tmp_path / "mp121.pcap", tmp_path / "mp121.jsonl"
    r = _cli("run", "mp121", "--han", "fake-ezsp", "--broker", "memory", "--quiet", "--report", str(report_path),
             "--pcap", str(pcap), "--trace", str(trace))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    report = json.loads(report_path.read_text())
    steps = {s["id"]: s for s in report["steps"]}
    assert steps["credentials"]["ok"] and steps["join"]["ok"]
    assert report["summary"]["han"] == "bellows over the fake EZSP NCP (TCP)"
    # The largest GBCS command on the HAN (the 6.23 update) crossed as a run of APS blocks the
    # adapter sent: the first with the count, the rest numbered, none over 71 bytes.
    largest = max(len(bytes.fromhex(record["hex"])) for record in map(json.loads, trace.read_text().splitlines())
                  if record["link"] == "han" and record["direction"] == "down")
    assert largest > 2 * 230
    blocks = [f.aps for f in map(parse_frame, pcap_frames(pcap))
              if f.aps.cluster == CLUSTER_TUNNELING and f.aps.fragmentation is not None]
    firsts = [b.block_number for b in blocks if b.fragmentation is aps.Fragmentation.FIRST_BLOCK]
    assert max(firsts) >= -(-largest // 71)
    later = [b.block_number for b in blocks if b.fragmentation is aps.Fragmentation.SUBSEQUENT_BLOCK]
    assert set(range(1, 8)) <= set(later)


def test_dv7_uit_journey_over_bellows_and_the_embedded_mosquitto(tmp_path: Path):
    """The whole UIT with every hub on bellows and a fake NCP: the journeys do not know."""
    report_path, pcap = tmp_path / "uit.json", tmp_path / "uit.pcap"
    r = _cli("run", "uit", "--han", "fake-ezsp", "--quiet", "--report", str(report_path), "--pcap", str(pcap))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["ok"] and report["summary"]["han"] == "bellows over the fake EZSP NCP (TCP)"
    assert report["summary"]["han_packets"] > 100 and report["summary"]["han_fragments"] > 0
    assert {s["id"] for s in report["steps"]} >= {"P0000.install", "P0000.firmware", "P0001.rejected"}


def test_dv7_sit_journey_over_bellows_with_large_frames_in_fragments(tmp_path: Path):
    """The whole SIT (1,165 cases) with every hub on bellows: every frame over one APS frame is
    fragmented by the adapter on the way down and reassembled by bellows on the way up."""
    report_path = tmp_path / "sit.json"
    r = _cli("run", "sit", "--han", "fake-ezsp", "--broker", "memory", "--quiet", "--report", str(report_path),
             "--pcap", str(tmp_path / "sit.pcap"), timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["ok"] and len(report["steps"]) >= 1165 and report["summary"]["han_fragments"] > 1000


def test_dv7_hardware_check_on_the_fake_ncp(tmp_path: Path):
    server = subprocess.Popen([sys.executable, "-m", "emulator", "hardware", "fake-ezsp", "--port", "0",
                               "--seconds", "600"], stdout=subprocess.PIPE, text=True)  # stopped in finally
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("fake EZSP NCP 000D6F0001ABCDEF at socket://127.0.0.1:")
        profile = tmp_path / "fake.yaml"
        profile.write_text(f"radio: ezsp\nport: {line.split(' at ')[1].strip()}\nchannel: 20\n")
        r = _cli("hardware", "check", str(profile))
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["radio"] == "ezsp" and info["channel"] == 20 and info["firmware"].startswith("6.10.3")
        assert info["ieee"] == "000D6F0001ABCDEF" and info["network_formed"]
    finally:
        server.terminate()
        server.wait(10)


def test_dv7_over_a_pty_a_meter_joins_with_its_install_code():
    async def main() -> None:
        # A pty hands bytes over through the kernel's line discipline, later than the selector can see:
        # this variant runs on the wall clock (as the fake-ZNP pty test does).
        clock = RealClock()
        w = await build_world(clock, [PremisesProfile(gas=None)], han=fake_ezsp_han(clock, pty=True))
        p = w.premises[0]
        assert isinstance(p.bus, FakeEzspAir) and p.bus.url.startswith("/dev/")
        assert p.esme_runner is not None
        await send_ok(w.users[SUPPLIER], "8.11", p.chf, {"device": p.esme.hex(), "device_type": 0,
                                                         "install_code": p.install_codes[p.esme].hex()})
        ncp = p.bus.ncp  # the permit goes out through bellows in the background
        assert await until(lambda: p.esme in ncp.transient_keys and bool(ncp.permit_until), 60), \
            "the NCP got no transient key or permit for the ESME within 60 s"
        assert await p.esme_runner.try_join(link_key_from_install_code(p.install_codes[p.esme])) is None
        assert await until(lambda: p.esme in p.chf_runner.machine.nwk, 60), "the CHF did not see the join in 60 s"
        await w.stop()

    run(main(), virtual=False)


def test_dv7_the_hub_survives_the_ncp_connection_going_away():
    async def main() -> None:
        clock = VirtualClock()
        w = await build_world(clock, [PremisesProfile(gas=None)], han=fake_ezsp_han(clock))
        p = w.premises[0]
        air = p.bus
        assert isinstance(air, FakeEzspAir)
        await install(w, p, w.users[SUPPLIER])
        await commission(w, p, w.users[SUPPLIER])
        radio = p.chf_runner.radio
        assert isinstance(radio, ZigpyRadio)
        assert air._writer is not None
        air._writer.transport.abort()  # the network coordinator's socket drops
        assert await until(lambda: radio.stats.reconnects > 0, 120, every=1), "bellows did not reconnect in 120 s"
        assert radio.fragmenter is not None and radio.fragmenter.app is radio.app
        sent = radio.fragmenter.stats.sent
        _, final = await w.users[SUPPLIER].send("8.1.1", p.esme.hex().upper())  # 238 bytes: in blocks again
        assert final is not None and final.code == "I0", (final.code, final.message)
        # (the meter may answer before the last block's messageSentHandler reaches the adapter)
        assert await until(lambda: radio.fragmenter is not None and radio.fragmenter.stats.sent > sent, 30)
        await w.stop()

    run(main())
