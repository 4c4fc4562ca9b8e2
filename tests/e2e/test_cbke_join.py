"""CBKE after the install-code join, end to end on the virtual bus (issue 14 part 3; docs/cbke.md).

A premises with ``cbke: true``: each meter joins with its install-code key, runs Key
Establishment (0x0800) with the CHF, and only then does GBCS flow (the CHF opens the ESME's
tunnel after CBKE; the GSME opens its own after it). A meter whose certificate comes from a CA
the CHF does not trust is refused with Terminate Key Establishment (Unknown Issuer), gets no
tunnel, and the capture shows it: tshark's ZCL Key Establishment dissector reads the frames.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from emulator.clock import until
from emulator.devices.key_establishment import KeyEstablished, KeyEstablishmentFailed, MeterKeyEstablishment
from emulator.devices.profile import PremisesProfile, ProfileError, premises_from_mapping
from emulator.pki.se_certs import ROGUE_CA_ISSUER, issue, se_ca, trusting
from emulator.pytest_plugin import Smets2
from emulator.scenarios import steps
from emulator.scenarios.world import SUPPLIER, World
from emulator.zigbee.aps_security import secure_frame
from emulator.zigbee.packet import CLUSTER_KEY_ESTABLISHMENT, CLUSTER_TUNNELING, HanPacket
from emulator.zigbee.pcap import FrameCounters, PcapWriter, han_frame

TSHARK = shutil.which("tshark")
CBKE_S = 120.0  # virtual seconds: the exchange itself takes a few frames' latency (and a GSME's polls)
# ZCL header: frame control, sequence, command id. Frame control bit 3 set: server to client.
INITIATE, EPHEMERAL, CONFIRM, TERMINATE = 0x00, 0x01, 0x02, 0x03


def _ke_commands(frames: list[HanPacket], device: bytes) -> list[tuple[str, int]]:
    """(direction, command id) of each Key Establishment frame between the CHF and ``device``."""
    out = []
    for p in frames:
        first_block = p.fragment is None or p.fragment[0] == 0  # a certificate crosses the air in APS blocks
        if p.cluster == CLUSTER_KEY_ESTABLISHMENT and device in (p.src, p.dst) and first_block and p.payload:
            out.append(("to CHF" if p.src == device else "to device", p.payload[2]))
    return out


def _pcap(frames: list[tuple[float, HanPacket]], path: Path) -> Path:
    writer = PcapWriter()
    for when, packet in frames:
        writer.add_packet(1_767_225_600.0 + when, packet)
    path.write_bytes(writer.data_to_send())
    return path


def _secured_pcap(frames: list[tuple[float, HanPacket]], device: bytes, key: bytes, path: Path) -> Path:
    """The whole (unfragmented) Tunneling frames between the CHF and ``device``, APS-secured with ``key``
    (the blocks of a fragmented message are left out: this helper gives each frame its own counter, so
    Wireshark could not reassemble secured blocks)."""
    writer, counters = PcapWriter(), FrameCounters()
    for n, (when, packet) in enumerate(frames):
        if packet.cluster == CLUSTER_TUNNELING and device in (packet.src, packet.dst) and packet.fragment is None:
            writer.add_record(1_767_225_600.0 + when, secure_frame(han_frame(packet, counters), key, n))
    path.write_bytes(writer.data_to_send())
    return path


def _tshark(pcap: Path, *args: str) -> list[str]:
    assert TSHARK is not None
    out = subprocess.run([TSHARK, "-r", str(pcap), *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line.strip()]


def test_cbke_join_then_gbcs_over_the_new_link_key(tmp_path: Path):
    tapped: list[tuple[float, HanPacket]] = []
    keys: dict[bytes, bytes] = {}

    async def scenario(world: World) -> None:
        p = world.premises[0]
        assert p.esme_runner is not None and p.gsme_runner is not None
        await steps.install(world, p, world.users[SUPPLIER])
        chf = p.chf_runner.machine
        assert chf.key_establishment is not None
        def all_established() -> bool:
            meters = [r.machine.key_establishment for r in (p.esme_runner, p.gsme_runner)]
            return all(m is not None and m.established for m in meters) and chf.key_establishment is not None and \
                chf.key_establishment.established(p.esme) and chf.key_establishment.established(p.gsme)

        await until(all_established, CBKE_S)
        # Both ends of each exchange hold the same key, and it is not the install-code key.
        for runner in (p.esme_runner, p.gsme_runner):
            meter = runner.machine.key_establishment
            assert meter is not None and meter.link_key is not None
            assert meter.link_key == chf.key_establishment.link_keys[runner.machine.eui]
            assert len(meter.link_key) == 16
        await until(lambda: p.esme in chf.tunnels and p.gsme in chf.tunnels, CBKE_S)
        keys.update(chf.key_establishment.link_keys)
        await steps.commission(world, p, world.users[SUPPLIER])
        _ack, final = await world.users[SUPPLIER].send("11.2", p.esme.hex().upper())
        assert final.code == "I0"
        established = [e for e in world.events if isinstance(e, KeyEstablished)]
        assert {(e.device, e.peer) for e in established} >= {(p.chf, p.esme), (p.esme, p.chf), (p.chf, p.gsme),
                                                              (p.gsme, p.chf)}

    Smets2().run(scenario, [PremisesProfile(cbke=True)], tap=lambda t, pkt, ok: tapped.append((t, pkt)))
    frames = [pkt for _, pkt in tapped]
    esme = next(pkt.src for pkt in frames if pkt.cluster == CLUSTER_KEY_ESTABLISHMENT)
    # The SE 1.2 annex C order, nothing else, and nothing terminated.
    assert _ke_commands(frames, esme) == [("to CHF", INITIATE), ("to device", INITIATE), ("to CHF", EPHEMERAL),
                                          ("to device", EPHEMERAL), ("to CHF", CONFIRM), ("to device", CONFIRM)]
    # GBCS rule: the CHF asks for the ESME's tunnel only once CBKE is through.
    first_tunnel = next(i for i, pkt in enumerate(frames) if pkt.cluster == CLUSTER_TUNNELING and pkt.dst == esme)
    last_ke = max(i for i, pkt in enumerate(frames) if pkt.cluster == CLUSTER_KEY_ESTABLISHMENT and esme in
                  (pkt.src, pkt.dst))
    assert first_tunnel > last_ke
    if TSHARK is not None:
        pcap = _pcap(tapped, tmp_path / "cbke.pcap")
        rows = _tshark(pcap, "-Y", "zbee_zcl_se.ke.cert.curve", "-T", "fields", "-e", "zbee_zcl_se.ke.attr.suite",
                       "-e", "zbee_zcl_se.ke.cert.curve", "-e", "zbee_zcl_se.ke.cert.hash",
                       "-e", "zbee_zcl_se.ke.cert.issuer")
        # Two Initiate exchanges (ESME, GSME), each carrying a certificate both ways: suite 2, sect283k1,
        # AES-MMO, issued by the emulator's test CA "SMETSEMU".
        assert rows and len(rows) == 4
        for row in rows:
            suite, curve_id, hash_id, issuer = row.split("\t")
            assert (int(suite, 16), int(curve_id, 16), int(hash_id, 16)) == (2, 0x0D, 0x08)
            assert issuer.replace(":", "") == b"SMETSEMU".hex()
        assert not _tshark(pcap, "-Y", "zbee_zcl_se.ke && (_ws.malformed || _ws.expert.severity >= error)")
        assert len(_tshark(pcap, "-Y", "zbee_zcl_se.ke.macu")) == 2
        assert len(_tshark(pcap, "-Y", "zbee_zcl_se.ke.macv")) == 2
        # The CBKE key is a working APS link key: the ESME's tunnel traffic, APS-secured with it as a
        # real stack sends it, is opaque to Wireshark without the key and dissects as GBCS with it.
        secured = _secured_pcap(tapped[first_tunnel:], esme, keys[esme], tmp_path / "secured.pcap")
        tunnel_frames = sum(1 for _, pkt in tapped[first_tunnel:] if pkt.cluster == CLUSTER_TUNNELING
                            and esme in (pkt.src, pkt.dst) and pkt.fragment is None)
        tunneling = "zbee_zcl_se.tun.cmd.srv_rx.id || zbee_zcl_se.tun.cmd.srv_tx.id"
        assert not _tshark(secured, "-Y", "zbee_zcl")  # no ZCL readable without the key
        with_key = _tshark(secured, "-o", f'uat:zigbee_pc_keys:"{keys[esme].hex()}","Normal","cbke"',
                           "-Y", tunneling)
        assert len(with_key) == tunnel_frames > 0


def test_cbke_meter_with_a_foreign_certificate_is_refused(tmp_path: Path):
    tapped: list[tuple[float, HanPacket]] = []

    async def scenario(world: World) -> None:
        p = world.premises[0]
        assert p.esme_runner is not None
        esme = p.esme_runner.machine
        # The ESME's certificate comes from a CA the CHF does not trust (it still trusts the CHF's CA).
        esme.key_establishment = MeterKeyEstablishment(
            esme.eui, esme.chf, trusting(issue(world.seed, esme.eui, ROGUE_CA_ISSUER), se_ca(world.seed)))
        user = world.users[SUPPLIER]
        await steps.send_ok(user, "8.14.1", "", {"device": p.chf.hex().upper()})
        await steps.send_ok(user, "8.11", p.chf, {"device": p.esme.hex(), "device_type": 0,
                                                  "install_code": p.install_codes[p.esme].hex()})
        await p.esme_runner.join(steps.link_key_from_install_code(p.install_codes[p.esme]))
        await until(lambda: any(isinstance(e, KeyEstablishmentFailed) and e.device == p.esme for e in world.events),
                    CBKE_S)
        failed = {e.device: e for e in world.events if isinstance(e, KeyEstablishmentFailed)}
        assert failed[p.chf].status == "UNKNOWN_ISSUER" and not failed[p.chf].by_peer
        assert failed[p.esme].status == "UNKNOWN_ISSUER" and failed[p.esme].by_peer
        chf = p.chf_runner.machine
        assert chf.key_establishment is not None and not chf.key_establishment.established(p.esme)
        assert p.esme not in chf.tunnels

    Smets2().run(scenario, [PremisesProfile(gas=None, cbke=True)], tap=lambda t, pkt, ok: tapped.append((t, pkt)))
    frames = [pkt for _, pkt in tapped]
    esme = next(pkt.src for pkt in frames if pkt.cluster == CLUSTER_KEY_ESTABLISHMENT)
    assert _ke_commands(frames, esme) == [("to CHF", INITIATE), ("to device", TERMINATE)]
    terminate = next(pkt for pkt in frames if pkt.cluster == CLUSTER_KEY_ESTABLISHMENT and pkt.dst == esme)
    # Terminate: status 0x01 Unknown Issuer, wait time 10 s, suite 0x0002.
    assert terminate.payload[3:] == bytes((0x01, 10, 0x02, 0x00))
    assert not any(pkt.cluster == CLUSTER_TUNNELING and pkt.dst == esme for pkt in frames)
    if TSHARK is not None:
        pcap = _pcap(tapped, tmp_path / "refused.pcap")
        rows = _tshark(pcap, "-Y", "zbee_zcl_se.ke.terminate.status", "-T", "fields",
                       "-e", "zbee_zcl_se.ke.terminate.status", "-e", "_ws.col.Info")
        assert len(rows) == 1
        status, info = rows[0].split("\t")
        assert int(status, 16) == 0x01 and "Terminate Key Establishment" in info


def test_cbke_off_keeps_the_install_code_join_alone():
    """The default premises (fleets) runs no CBKE: no Key Establishment frame crosses the HAN."""
    tapped: list[HanPacket] = []

    async def scenario(world: World) -> None:
        p = world.premises[0]
        await steps.install(world, p, world.users[SUPPLIER])
        assert p.chf_runner.machine.key_establishment is None
        await until(lambda: p.esme in p.chf_runner.machine.tunnels, CBKE_S)

    Smets2().run(scenario, [PremisesProfile(gas=None)], tap=lambda t, pkt, ok: tapped.append(pkt))
    assert not any(pkt.cluster == CLUSTER_KEY_ESTABLISHMENT for pkt in tapped)


def test_same_seed_same_cbke_frames():
    """Ephemeral keys come from the seed's keys: two runs put byte-identical frames on the HAN."""
    runs: list[list[tuple[bytes, bytes]]] = []
    for _ in range(2):
        tapped: list[HanPacket] = []

        async def scenario(world: World) -> None:
            p = world.premises[0]
            await steps.install(world, p, world.users[SUPPLIER])
            await until(lambda: p.esme in p.chf_runner.machine.tunnels, CBKE_S)

        Smets2().run(scenario, [PremisesProfile(gas=None, cbke=True)], seed=5,
                     tap=lambda t, pkt, ok, into=tapped: into.append(pkt))
        runs.append([(pkt.src, pkt.payload) for pkt in tapped if pkt.cluster == CLUSTER_KEY_ESTABLISHMENT])
    # six messages; the two certificate-carrying Initiate messages cross the air in two APS blocks each
    assert len(runs[0]) == 8 and runs[0] == runs[1]


def test_cbke_is_a_premises_profile_key():
    assert premises_from_mapping({"cbke": True}).cbke is True
    assert premises_from_mapping({}).cbke is False
    with pytest.raises(ProfileError, match="cbke"):
        premises_from_mapping({"cbke": "yes"})
