"""Large AF messages on the fake Z-Stack, sans-IO (issue 14.1): the MT frames TI's MT_AF.c defines
for them, the held request filled by AF.DataStore, AF.IncomingMsgExt fetched with AF.DataRetrieve,
AF.APSFConfigSet, and APS fragments on the air with their window, delay and acknowledgements."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.zigbee import zdo
from emulator.zigbee.apsf import ApsfError, Reassembly, split
from emulator.zigbee.packet import CLUSTER_TUNNELING, HanPacket
from emulator.znp import commands as mt
from emulator.znp.fake import FakeOutput, FakeZnp
from emulator.znp.mt import MtFrame

IEEE = bytes.fromhex("00124B0001020304")
METER = bytes.fromhex("00DB1234567890A0")
KEY = b"ZigBeeAlliance09"


# --- MT frames: literal bytes laid out from MT_AF.c -----------------------------------------------

def test_golden_frames_of_the_large_message_commands():
    store = mt.request("AF.DataStore", Index=0xF7, Data=b"\x01\x02\x03")
    assert store.encode() == bytes.fromhex("FE062411F70003010203C7")
    # A held request: the length (495) and no data bytes; 20 data bytes whatever the length.
    held = mt.request("AF.DataRequestExt", DstAddrModeAddress={"mode": 2, "address": bytes.fromhex("3412") + bytes(6)},
                      DstEndpoint=1, DstPanId=0, SrcEndpoint=9, ClusterId=0x0704, TSN=5, Options=0x40, Radius=0,
                      DataLength=495, Data=b"")
    assert held.encode() == bytes.fromhex("FE142402023412000000000000010000090407054000EF01B6")
    retrieve = mt.request("AF.DataRetrieve", TimeStamp=0x12345678, Index=0xF7, Length=0xF8)
    assert retrieve.encode() == bytes.fromhex("FE07241278563412F700F836")
    assert mt.request("AF.APSFConfigSet", Endpoint=9, FrameDelay=50, WindowSize=1).encode() == \
        bytes.fromhex("FE0324130932010E")
    ext = mt.callback("AF.IncomingMsgExt", GroupId=0, ClusterId=0x0704,
                      SrcAddrModeAddress={"mode": 2, "address": bytes.fromhex("3412") + bytes(6)}, SrcEndpoint=1,
                      SrcPanId=0, DstEndpoint=9, WasBroadcast=0, LQI=255, SecurityUse=1, TimeStamp=0x12345678, TSN=7,
                      DataLength=500, Data=b"", MacSrcAddr=0x1234, MsgResultRadius=0)
    # 30 bytes: MT_AF_INC_MSG_LEN (20) + MT_AF_INC_MSG_EXT (10), no data with an over-sized indication.
    assert ext.encode() == bytes.fromhex("FE1E4482000004070234120000000000000100000900FF017856341207F401341200D5")


@given(st.binary(max_size=mt.INLINE_REQUEST_MAX) | st.integers(mt.INLINE_REQUEST_MAX + 1, 0xFFFF))
def test_data_request_ext_round_trips_inline_or_held(data: bytes | int):
    inline = isinstance(data, bytes)
    length, payload = (len(data), data) if isinstance(data, bytes) else (data, b"")
    frame = mt.request("AF.DataRequestExt", DstAddrModeAddress={"mode": 2, "address": bytes(8)}, DstEndpoint=1,
                       DstPanId=0, SrcEndpoint=1, ClusterId=6, TSN=1, Options=0, Radius=0, DataLength=length,
                       Data=payload)
    assert len(frame.data) == 20 + (length if inline else 0)
    _, fields = mt.parse_request(MtFrame.decode(frame.encode()))
    assert (fields["DataLength"], bytes(fields["Data"])) == (length, payload)


# --- the held request: DataRequestExt (length only), DataStore chunks, DataStore 0 sends ---------

def _joined(fragment_size: int = 71) -> tuple[FakeZnp, int]:
    fake = FakeZnp(IEEE, seed=3, fragment_size=fragment_size)
    for ep in (1, 9):
        fake.receive(mt.request("AF.Register", Endpoint=ep, ProfileId=0x0109, DeviceId=0x0500, DeviceVersion=0,
                                LatencyReq=0, InputClusters=[0x0704], OutputClusters=[0x0704]).encode(), 0.0)
    fake.receive(mt.request("AppConfig.BDBStartCommissioning", Mode=0x04).encode(), 0.0)
    fake.receive(mt.request("ZDO.MgmtPermitJoinReq", AddrMode=15, Dst=0xFFFC, Duration=60,
                            TCSignificance=1).encode(), 0.0)
    nwk, _ = fake.join(zdo.meter_descriptor(METER, 0xFFFE, "ESME", 0x1234), KEY, 1.0)
    return fake, nwk


def _ask(fake: FakeZnp, name: str, now: float = 2.0, **fields: Any) -> FakeOutput:
    return fake.receive(mt.request(name, **fields).encode(), now)


def _answer(out: FakeOutput, name: str) -> dict[str, Any]:
    cmd = mt.BY_NAME[name]
    frame = next(f for f in out.serial if (f.subsystem, f.command) == (int(cmd.subsystem), cmd.id))
    return mt.parse_response(name, frame)


def _hold(fake: FakeZnp, nwk: int, length: int, now: float = 2.0) -> FakeOutput:
    return _ask(fake, "AF.DataRequestExt", now, DstAddrModeAddress={"mode": 2, "address": nwk.to_bytes(2, "little")
                                                                    + bytes(6)},
                DstEndpoint=1, DstPanId=0, SrcEndpoint=9, ClusterId=CLUSTER_TUNNELING, TSN=0x42, Options=0x40,
                Radius=0, DataLength=length, Data=b"")


def test_a_499_byte_frame_goes_through_the_data_store_and_crosses_in_windows_of_blocks():
    fake, nwk = _joined()
    data = bytes(range(256)) + bytes(range(243))  # 499 bytes
    assert _answer(_ask(fake, "AF.APSFConfigSet", Endpoint=9, FrameDelay=40, WindowSize=3),
                   "AF.APSFConfigSet")["Status"] == 0
    held = _hold(fake, nwk, 499)
    assert _answer(held, "AF.DataRequestExt")["Status"] == 0 and not held.air and not held.fragments
    for index in (0, 247):
        out = _ask(fake, "AF.DataStore", Index=index, Data=data[index:index + 247])
        assert _answer(out, "AF.DataStore")["Status"] == 0
    out = _ask(fake, "AF.DataStore", Index=490, Data=data[490:])
    sent = _ask(fake, "AF.DataStore", 3.0, Index=0, Data=b"")
    assert _answer(out, "AF.DataStore")["Status"] == 0 and _answer(sent, "AF.DataStore")["Status"] == 0
    # The first window: 3 blocks of 71 bytes, 40 ms apart; no confirm before the device acknowledges.
    assert [(at, p.fragment, len(p.payload)) for at, p in sent.fragments] == [
        (3.0, (0, 8), 71), (3.04, (1, 8), 71), (3.08, (2, 8), 71)]
    assert all(p.dst == METER and p.dst_nwk == nwk and p.aps_secured for _, p in sent.fragments)
    assert not [f for f in sent.serial if f.command == 0x80]
    second = fake.fragment_acknowledged(METER, 3, 3.2)
    assert [p.fragment for _, p in second.fragments] == [(3, 8), (4, 8), (5, 8)] and not second.serial
    last = fake.fragment_acknowledged(METER, 6, 3.4)
    assert [(p.fragment, len(p.payload)) for _, p in last.fragments] == [((6, 8), 71), ((7, 8), 2)]
    done = fake.fragment_acknowledged(METER, 8, 3.6)
    assert _answer(done, "AF.DataConfirm") == {"Status": 0, "Endpoint": 9, "TSN": 0x42}
    blocks = [p for _, p in sent.fragments + second.fragments + last.fragments]
    assert b"".join(p.payload for p in blocks) == data


@pytest.mark.parametrize(("index", "length", "why"), [
    (490, 10, "10 bytes at offset 490 overrun the 499-byte request"),
    (600, 1, "1 bytes at offset 600 overrun the 499-byte request"),
])
def test_a_store_past_the_held_request_is_refused_naming_it(index: int, length: int, why: str):
    fake, nwk = _joined()
    _hold(fake, nwk, 499)
    out = _ask(fake, "AF.DataStore", Index=index, Data=bytes(length))
    assert _answer(out, "AF.DataStore")["Status"] == 0x02 and why in out.notes[0]


def test_sending_a_request_with_bytes_never_stored_is_refused_and_nothing_crosses():
    fake, nwk = _joined()
    _hold(fake, nwk, 300)
    _ask(fake, "AF.DataStore", Index=0, Data=bytes(200))
    out = _ask(fake, "AF.DataStore", Index=0, Data=b"")
    assert _answer(out, "AF.DataStore")["Status"] == 0x02 and not out.fragments
    assert "bytes never stored: 200..299" in out.notes[0]


def test_data_store_without_a_held_request_and_a_second_held_request():
    fake, nwk = _joined()
    out = _ask(fake, "AF.DataStore", Index=0, Data=b"\x01")
    assert _answer(out, "AF.DataStore")["Status"] == 0x10 and "no large data request is held" in out.notes[0]
    assert _answer(_hold(fake, nwk, 400), "AF.DataRequestExt")["Status"] == 0
    again = _hold(fake, nwk, 400)
    assert _answer(again, "AF.DataRequestExt")["Status"] == 0x02 and "already held" in again.notes[0]
    # Not sent within 15 s (MT_AF_EXEC_CNT x MT_AF_EXEC_DLY): the chip drops it.
    late = _hold(fake, nwk, 400, now=20.0)
    assert _answer(late, "AF.DataRequestExt")["Status"] == 0 and "never sent within 15 s" in late.notes[0]
    too_big = FakeZnp(IEEE)
    too_big.endpoints[9] = {}
    assert _answer(_hold(too_big, 0x1234, 0x2001), "AF.DataRequestExt")["Status"] == 0x10


def test_an_inline_frame_larger_than_one_block_also_crosses_in_fragments():
    fake, nwk = _joined()
    out = _ask(fake, "AF.DataRequestExt", DstAddrModeAddress={"mode": 2, "address": nwk.to_bytes(2, "little")
                                                              + bytes(6)},
               DstEndpoint=1, DstPanId=0, SrcEndpoint=1, ClusterId=CLUSTER_TUNNELING, TSN=9, Options=0x40, Radius=0,
               DataLength=150, Data=bytes(150))
    # Z-Stack's defaults: a window of 5, 50 ms apart; 150 bytes are 3 blocks.
    assert [(at, p.fragment) for at, p in out.fragments] == [(2.0, (0, 3)), (2.05, (1, 3)), (2.1, (2, 3))]
    assert _answer(fake.fragment_acknowledged(METER, 3, 2.3), "AF.DataConfirm")["Status"] == 0


def test_a_device_leaving_mid_transfer_fails_the_confirm():
    fake, nwk = _joined()
    _ask(fake, "AF.DataRequestExt", DstAddrModeAddress={"mode": 2, "address": nwk.to_bytes(2, "little") + bytes(6)},
         DstEndpoint=1, DstPanId=0, SrcEndpoint=1, ClusterId=CLUSTER_TUNNELING, TSN=9, Options=0x40, Radius=0,
         DataLength=150, Data=bytes(150))
    out = fake.leave(METER, 2.2)
    assert _answer(out, "AF.DataConfirm") == {"Status": 0xE9, "Endpoint": 1, "TSN": 9}


def test_apsf_config_set_names_a_bad_endpoint_or_window():
    fake, _ = _joined()
    out = _ask(fake, "AF.APSFConfigSet", Endpoint=77, FrameDelay=50, WindowSize=1)
    assert _answer(out, "AF.APSFConfigSet")["Status"] == 0x02 and "endpoint 77 is not registered" in out.notes[0]
    out = _ask(fake, "AF.APSFConfigSet", Endpoint=9, FrameDelay=50, WindowSize=9)
    assert _answer(out, "AF.APSFConfigSet")["Status"] == 0x02 and "window 9 is outside 1..8" in out.notes[0]


# --- air to host: blocks reassembled, held, fetched ---------------------------------------------

def _from_meter(fake: FakeZnp, payload: bytes, now: float = 3.0) -> tuple[FakeOutput, list[tuple[bytes, int]]]:
    acks: list[tuple[bytes, int]] = []
    last = FakeOutput()
    for block in split(HanPacket(METER, IEEE, CLUSTER_TUNNELING, payload, 1, 9), 71):
        last = fake.from_device(block, now)
        acks += last.acks
    return last, acks


def test_a_large_answer_is_reassembled_held_and_fetched_with_data_retrieve():
    fake, nwk = _joined()
    answer = bytes((i * 7) & 0xFF for i in range(300))
    out, acks = _from_meter(fake, answer, now=3.0)
    assert acks == [(METER, 5)]  # one window of Z-Stack's default 5 covers the 5 blocks
    msg = _answer(out, "AF.IncomingMsgExt")
    assert (msg["DataLength"], msg["Data"], msg["ClusterId"], msg["SrcEndpoint"], msg["DstEndpoint"]) == \
        (300, b"", CLUSTER_TUNNELING, 1, 9)
    assert msg["SrcAddrModeAddress"]["address"][:2] == nwk.to_bytes(2, "little")
    ts = msg["TimeStamp"]
    got = b""
    for index in (0, 248):
        rsp = _answer(_ask(fake, "AF.DataRetrieve", TimeStamp=ts, Index=index, Length=min(248, 300 - index)),
                      "AF.DataRetrieve")
        assert rsp["Status"] == 0
        got += rsp["Data"]
    assert got == answer
    beyond = _ask(fake, "AF.DataRetrieve", TimeStamp=ts, Index=250, Length=60)
    assert _answer(beyond, "AF.DataRetrieve") == {"Status": 0x02, "Data": b""}
    assert "60 bytes at offset 250 go beyond the 300-byte message" in beyond.notes[0]
    assert _answer(_ask(fake, "AF.DataRetrieve", TimeStamp=ts, Index=0, Length=0), "AF.DataRetrieve")["Status"] == 0
    gone = _ask(fake, "AF.DataRetrieve", TimeStamp=ts, Index=0, Length=10)
    assert _answer(gone, "AF.DataRetrieve") == {"Status": 0x01, "Data": b""} and "no incoming message" in gone.notes[0]


def test_a_held_message_not_fetched_within_15_s_is_dropped():
    fake, _ = _joined()
    out, _ = _from_meter(fake, bytes(250), now=3.0)
    ts = _answer(out, "AF.IncomingMsgExt")["TimeStamp"]
    late = _ask(fake, "AF.DataRetrieve", 19.0, TimeStamp=ts, Index=0, Length=10)
    assert _answer(late, "AF.DataRetrieve")["Status"] == 0x01 and "never retrieved within 15 s" in late.notes[0]


def test_up_to_220_bytes_come_inline_and_221_are_held():
    fake, _ = _joined()
    inline, _ = _from_meter(fake, bytes(220))
    assert len(_answer(inline, "AF.IncomingMsg")["Data"]) == 220
    held, _ = _from_meter(fake, bytes(221))
    assert _answer(held, "AF.IncomingMsgExt")["DataLength"] == 221


def test_blocks_that_do_not_belong_are_dropped_naming_why():
    fake, _ = _joined()
    first = HanPacket(METER, IEEE, CLUSTER_TUNNELING, bytes(71), 1, 9, fragment=(0, 3))
    fake.from_device(first, 3.0)
    out = fake.from_device(HanPacket(METER, IEEE, CLUSTER_TUNNELING, bytes(71), 1, 9, fragment=(1, 4)), 3.0)
    assert not out.serial and "says 4 blocks, the first said 3" in out.notes[0]
    stray = fake.from_device(HanPacket(METER, IEEE, CLUSTER_TUNNELING, bytes(9), 1, 9, fragment=(2, 3)), 3.0)
    assert not stray.serial and "without a first block" in stray.notes[0]


# --- the fragmentation helpers -------------------------------------------------------------------

@settings(max_examples=60)
@given(st.binary(min_size=1, max_size=2000), st.integers(20, 100), st.integers(1, 8), st.randoms())
def test_blocks_reassemble_in_any_order(payload: bytes, size: int, window: int, rnd: Any):
    blocks = split(HanPacket(METER, IEEE, CLUSTER_TUNNELING, payload), size)
    if len(payload) <= size:
        assert blocks[0].fragment is None and blocks[0].payload == payload
        return
    assert all(len(b.payload) == size for b in blocks[:-1]) and {b.fragment[1] for b in blocks if b.fragment} == \
        {len(blocks)}
    shuffled = list(blocks)
    rnd.shuffle(shuffled)
    r = Reassembly(len(blocks), window)
    for b in shuffled:
        assert b.fragment is not None
        r.add(b.fragment[0], b.fragment[1], b.payload)
    assert r.complete and r.payload() == payload


def test_reassembly_refuses_a_block_outside_the_message():
    r = Reassembly(3)
    with pytest.raises(ApsfError, match=r"block index 3 outside 0\.\.2"):
        r.add(3, 3, b"x")
    r.add(0, 3, b"a")
    assert r.window_acknowledged() is None  # the window of 5 (here 3 blocks) is not complete
    r.add(1, 3, b"b")
    r.add(2, 3, b"c")
    assert r.window_acknowledged() == 3 and r.payload() == b"abc"


def test_an_unacknowledged_window_is_sent_again_three_times_then_the_frame_fails_with_aps_no_ack():
    fake, nwk = _joined()
    request = {"DstAddrModeAddress": {"mode": 2, "address": nwk.to_bytes(2, "little") + bytes(6)}, "DstEndpoint": 1,
               "DstPanId": 0, "SrcEndpoint": 1, "ClusterId": CLUSTER_TUNNELING, "Options": 0x40, "Radius": 0,
               "DataLength": 100, "Data": bytes(100)}
    first = _ask(fake, "AF.DataRequestExt", 2.0, TSN=1, **request)
    queued = _ask(fake, "AF.DataRequestExt", 2.0, TSN=2, **request)  # waits its turn behind the first
    assert len(first.fragments) == 2 and not queued.fragments
    # The window's last block left at 2.05; apscAckWaitDuration is 1.6 s.
    assert not fake.tick(3.6).fragments
    times = [3.7, 5.4, 7.1]
    for now in times:
        again = fake.tick(now)
        assert [p.fragment for _, p in again.fragments] == [(0, 2), (1, 2)] and not again.serial
    failed = fake.tick(8.9)
    assert _answer(failed, "AF.DataConfirm") == {"Status": 0xB7, "Endpoint": 1, "TSN": 1}
    assert "never acknowledged blocks from 0 after 3 retries" in failed.notes[0]
    assert [p.fragment for _, p in failed.fragments] == [(0, 2), (1, 2)]  # the second frame's turn
    assert _answer(fake.fragment_acknowledged(METER, 2, 9.0), "AF.DataConfirm") == {"Status": 0, "Endpoint": 1,
                                                                                      "TSN": 2}
