"""Devices keep their state across a restart (issue 15.7; DV-3, DV-5, IC-1), in memory.

A restart here is what a process restart does to a core: a new machine built from the profile,
given the snapshot its predecessor's adapter wrote (encoded to bytes and decoded again).
"""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from emulator.devices.base import Output
from emulator.devices.chf import Chf
from emulator.devices.endpoint import GbcsEndpoint, TrustAnchors
from emulator.devices.esme import Esme
from emulator.devices.events import (
    AlertRaised,
    CommandAccepted,
    CommandRefused,
    FirmwareBlockReceived,
    FirmwareTransferEnded,
)
from emulator.devices.gpf import Gpf
from emulator.devices.gsme import Gsme
from emulator.devices.profile import MeterProfile, PremisesProfile
from emulator.devices.state_snapshot import (
    CellSnapshot,
    ChfSnapshot,
    DownloadSnapshot,
    EndpointSnapshot,
    FirmwareSnapshot,
    HeldSnapshot,
    MeterSnapshot,
    SaveSchedule,
    StateError,
    decode,
    encode,
    restore,
    snapshot,
)
from emulator.scenarios.world import install_code_for, view
from emulator.zigbee import ota_file
from emulator.zigbee.install_code import link_key_from_install_code
from emulator.zigbee.packet import CLUSTER_OTA
from tests.conftest import need_rtds
from tests.devices.hub_harness import CHF_EUI, ESME_EUI, GPF_EUI, GSME_EUI, Premises, reseal
from tests.devices.test_hub_in_memory import ECS17B, _commissioned, _ref

FIRMWARE = bytes.fromhex("0123ABCD")


def _restarted_esme(p: Premises) -> Esme:
    """A new ESME machine (as a restarted process builds it), given the old one's state via bytes."""
    keys, maker = p.keys, p.maker
    fresh = Esme(ESME_EUI, GbcsEndpoint(ESME_EUI, view(keys, [ESME_EUI]), TrustAnchors()), CHF_EUI, MeterProfile(),
                 p.now, maker.public_key())  # type: ignore[attr-defined]
    restore(fresh, decode(encode(snapshot(p.esme))))
    return fresh


def test_snapshots_survive_their_bytes_unchanged():
    need_rtds()
    p = _commissioned()
    for machine in (p.chf, p.esme, p.gsme):
        state = snapshot(machine)
        assert decode(encode(state)) == state
    chf = snapshot(p.chf)
    assert isinstance(chf, ChfSnapshot) and {e.eui for e in chf.device_log} == {ESME_EUI, GSME_EUI}
    assert chf.gpf is not None and chf.gpf.eui == GPF_EUI
    esme = snapshot(p.esme)
    assert isinstance(esme, MeterSnapshot) and esme.joined and esme.kind == "ESME"
    # ECS70 was accepted from the supplier with counter 1000: that is what must not be forgotten.
    assert (bytes.fromhex("90B3D51F30010000"), ESME_EUI, 1000) in esme.endpoint.counters


def test_dv3_a_replayed_counter_is_still_refused_after_a_restart():
    need_rtds()
    p = _commissioned()
    # The ECS17b reference read carries counter 1000, which ECS70 used before the restart.
    wire = reseal(p.keys, _ref(ECS17B, "COMMAND"))
    p.esme = _restarted_esme(p)
    assert p.join(p.esme, link_key_from_install_code(install_code_for(1, ESME_EUI))) is None
    p.command(wire)
    refused = [e for e in p.events if isinstance(e, CommandRefused) and e.device == ESME_EUI]
    assert refused and refused[-1].alert_code == 0x8F3D and "not above 1000" in refused[-1].reason


def test_dv3_without_its_state_a_restarted_meter_would_take_the_replay():
    # The contrast that shows the test above can fail: no snapshot, no memory of counter 1000.
    need_rtds()
    p = _commissioned()
    wire = reseal(p.keys, _ref(ECS17B, "COMMAND"))
    fresh = Esme(ESME_EUI, GbcsEndpoint(ESME_EUI, view(p.keys, [ESME_EUI]), TrustAnchors()), CHF_EUI,
                 MeterProfile(), p.now, p.maker.public_key())  # type: ignore[attr-defined]
    p.esme = fresh
    p.join(p.esme, link_key_from_install_code(install_code_for(1, ESME_EUI)))
    p.command(wire)
    assert any(isinstance(e, CommandAccepted) and e.device == ESME_EUI for e in p.events[-5:])


def test_dv5_a_meter_restarted_mid_ota_resumes_from_its_last_block():
    need_rtds()
    p = _commissioned()
    image = ota_file.sample_image(p.maker, manufacturer_code=0x1234, image_type=1,  # type: ignore[arg-type]
                                  file_version=0x02000000, size=3000)
    blocks: list[int] = []

    def cut_after_20_blocks(packet) -> bool:  # type: ignore[no-untyped-def]
        if packet.cluster == CLUSTER_OTA and packet.src == CHF_EUI and packet.payload[2] == 0x05:
            blocks.append(1)
            return len(blocks) > 20  # the meter goes down after its 20th block
        return False

    p.lose = cut_after_20_blocks
    p.apply(p.chf.add_image(image, {ESME_EUI}, p.now))
    p.pump()
    assert p.esme.firmware.download is not None and p.esme.firmware.download.offset == 1000
    p.esme = _restarted_esme(p)
    p.lose = lambda packet: False
    before = len(p.events)
    assert p.join(p.esme, link_key_from_install_code(install_code_for(1, ESME_EUI))) is None
    p.advance(1)  # it asks for the offer again at once, then fetches from where it stopped
    offsets = [e.offset for e in p.events[before:] if isinstance(e, FirmwareBlockReceived)]
    assert offsets == list(range(1000, len(image), 50))
    assert [e.ok for e in p.events[before:] if isinstance(e, FirmwareTransferEnded)] == [True]
    assert p.esme.firmware.held is not None and p.esme.firmware.held.file_version == 0x02000000


def test_ic1_a_restarted_hub_keeps_its_device_log_and_lets_the_meters_join_again():
    need_rtds()
    p = _commissioned()
    image = ota_file.sample_image(p.maker, manufacturer_code=0x1234, image_type=2,  # type: ignore[arg-type]
                                  file_version=0x02000000, size=500)
    p.apply(p.chf.add_image(image, {GSME_EUI}, p.now))
    state = decode(encode(snapshot(p.chf)))
    gpf = Gpf(GPF_EUI, GbcsEndpoint(GPF_EUI, view(p.keys, [GPF_EUI]), TrustAnchors()), FIRMWARE)
    chf = Chf(CHF_EUI, GbcsEndpoint(CHF_EUI, view(p.keys, [CHF_EUI]), TrustAnchors()), FIRMWARE, gpf)
    restore(chf, state)
    assert set(chf.device_log.entries) == {ESME_EUI, GSME_EUI} and chf.kinds[GSME_EUI] == "GSME"
    assert [i.targets for i in chf.images] == [{GSME_EUI}]
    permits = chf.resume(p.now)
    assert {(e.eui, e.link_key) for e in permits.events} == {  # type: ignore[attr-defined]
        (eui, link_key_from_install_code(install_code_for(1, eui))) for eui in (ESME_EUI, GSME_EUI)}


def test_a_state_for_another_device_or_of_another_kind_is_refused():
    need_rtds()
    p = _commissioned()
    with pytest.raises(StateError, match=r"00DB1234567890A1.* given to 00DB1234567890A0"):
        restore(p.esme, snapshot(p.gsme))
    with pytest.raises(StateError, match="is a CHF"):
        restore(p.chf, snapshot(p.esme).__class__(**{**{f: getattr(snapshot(p.esme), f) for f in (
            "kind", "endpoint", "firmware", "joined")}, "eui": CHF_EUI}))


@pytest.mark.parametrize(("data", "says"), [
    (b"\xff\x00", "not a state snapshot"),
    (b'{"format": 99}', "format 1"),
    (b'{"format": 1, "kind": "toaster", "state": {}}', "unknown snapshot kind 'toaster'"),
    (b'{"format": 1, "kind": "meter", "state": {"kind": "ESME"}}', "MeterSnapshot: eui is missing"),
])
def test_a_bad_snapshot_is_refused_naming_what_is_wrong(data: bytes, says: str):
    with pytest.raises(StateError, match=says):
        decode(data)


@given(st.binary(max_size=200))
def test_fuzz_decode_returns_a_snapshot_or_raises_state_error(data: bytes):
    try:
        result = decode(data)
    except StateError as e:
        assert str(e)  # refused, saying why
    else:
        assert isinstance(result, ChfSnapshot | MeterSnapshot)


def test_save_schedule_writes_at_once_after_a_command_and_batches_blocks():
    s = SaveSchedule(batch_s=1.0)
    assert s.note(Output(events=[CommandAccepted(ESME_EUI, 10.0, 0x62, 1000, CHF_EUI)]), 10.0)
    assert s.note(Output(events=[AlertRaised(ESME_EUI, 10.0, 0x8F3F, True, 5)]), 10.0)
    block = Output(events=[FirmwareBlockReceived(ESME_EUI, 11.0, 0, 50, 3000)])
    assert not s.note(block, 11.0) and s.get_timer() == 12.0
    assert not s.note(block, 11.5) and s.get_timer() == 12.0  # one batch, not a write per block
    assert not s.handle_timer(11.9) and s.handle_timer(12.0) and s.get_timer() is None
    assert not s.note(Output(), 13.0) and s.get_timer() is None


def test_dv5_a_sleepy_gsme_restarted_mid_ota_resumes_at_its_next_wake():
    need_rtds()
    p = _commissioned()
    image = ota_file.sample_image(p.maker, manufacturer_code=0x1234, image_type=2,  # type: ignore[arg-type]
                                  file_version=0x02000000, size=2000)
    blocks: list[int] = []

    def cut_after_10_blocks(packet) -> bool:  # type: ignore[no-untyped-def]
        if packet.cluster == CLUSTER_OTA and packet.src == CHF_EUI and packet.payload[2] == 0x05:
            blocks.append(1)
            return len(blocks) > 10
        return False

    p.lose = cut_after_10_blocks
    p.apply(p.chf.add_image(image, {GSME_EUI}, p.now))
    assert p.run_until(lambda: len(blocks) > 10, 120)
    p.advance(10)  # whatever was on its way has arrived or been lost
    assert p.gsme.firmware.download is not None
    cut = p.gsme.firmware.download.offset
    assert 0 < cut < len(image)
    fresh = Gsme(GSME_EUI, GbcsEndpoint(GSME_EUI, view(p.keys, [GSME_EUI]), TrustAnchors()), CHF_EUI,
                 PremisesProfile().gas or MeterProfile(), p.now, p.maker.public_key())  # type: ignore[attr-defined]
    restore(fresh, decode(encode(snapshot(p.gsme))))
    p.gsme, p.lose = fresh, (lambda packet: False)
    before = len(p.events)
    assert p.join(p.gsme, link_key_from_install_code(install_code_for(1, GSME_EUI))) is None
    assert p.run_until(lambda: fresh.firmware.held is not None, 120), "the GSME did not resume within 120 s"
    offsets = [e.offset for e in p.events[before:] if isinstance(e, FirmwareBlockReceived)]
    assert offsets == list(range(cut, len(image), 50))  # from the block it kept, not from 0


def test_a_cs02c_key_pair_waiting_for_its_certificate_survives_the_restart():
    need_rtds()
    p = _commissioned()
    p.esme.endpoint.pending_keys["ds"] = ec.derive_private_key(0x1234567, ec.SECP256R1())
    fresh = _restarted_esme(p)
    assert fresh.endpoint.pending_keys["ds"].private_numbers().private_value == 0x1234567


def test_a_key_that_is_not_a_p256_point_is_refused_naming_the_party():
    need_rtds()
    p = _commissioned()
    state = snapshot(p.esme)
    assert isinstance(state, MeterSnapshot)
    broken = dataclasses.replace(state.endpoint.keys[0], public=b"\x04" + bytes(64))
    endpoint = dataclasses.replace(state.endpoint, keys=(broken,))
    with pytest.raises(StateError, match=f"key of {broken.eui.hex().upper()}"):
        restore(p.esme, dataclasses.replace(state, endpoint=endpoint))


_eui = st.binary(min_size=8, max_size=8)
_u32 = st.integers(0, 2**32 - 1)
_firmware = st.builds(
    FirmwareSnapshot, st.binary(min_size=4, max_size=4),
    st.none() | st.builds(DownloadSnapshot, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), _u32, _u32,
                          st.binary(max_size=300)),
    st.none() | st.builds(HeldSnapshot, st.binary(min_size=4, max_size=4), _u32, st.binary(min_size=32, max_size=32),
                          _u32),
    st.none() | st.floats(0, 4e9), st.none() | st.binary(min_size=32, max_size=32), _u32, st.none() | _eui, _u32)
_endpoint = st.builds(
    EndpointSnapshot, st.lists(st.tuples(_eui, _eui, st.integers(0, 2**64 - 1)), max_size=4).map(tuple),
    st.integers(0, 2**64 - 1),
    st.lists(st.builds(CellSnapshot, st.integers(0, 255), st.binary(max_size=2), st.integers(0, 3), _eui),
             max_size=3).map(tuple),
    st.lists(st.tuples(st.integers(0, 255), _u32), max_size=3).map(tuple),
    st.lists(st.tuples(_eui, st.integers(0, 6)), max_size=3).map(tuple), st.just(()),
    st.lists(st.tuples(st.sampled_from(["ds", "ka"]), st.integers(1, 2**200)), max_size=2).map(tuple))


@given(st.builds(MeterSnapshot, st.sampled_from(["ESME", "GSME"]), _eui, _endpoint, _firmware, st.booleans()))
def test_property_a_meter_snapshot_survives_its_bytes(state: MeterSnapshot):
    assert decode(encode(state)) == state
