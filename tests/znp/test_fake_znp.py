"""The fake Z-Stack, driven sans-IO: NV semantics, formation, the trust centre's join rules (IC-2),
data to and from devices, Z-Stack's frame-size limit, and fuzzing of everything a host can send."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.zigbee import zdo
from emulator.zigbee.install_code import link_key_from_install_code, with_crc
from emulator.zigbee.packet import CLUSTER_TUNNELING, HanPacket
from emulator.znp import commands as mt
from emulator.znp import nv
from emulator.znp.errors import JoinRefusedByTrustCentre
from emulator.znp.fake import FakeOutput, FakeZnp
from emulator.znp.mt import MtFrame, MtType

IEEE = bytes.fromhex("00124B0001020304")
METER = bytes.fromhex("00DB1234567890A0")
CODE = with_crc(bytes(range(16)))
KEY = link_key_from_install_code(CODE)


def _ask(fake: FakeZnp, name: str, now: float = 0.0, **fields: Any) -> FakeOutput:
    return fake.receive(mt.request(name, **fields).encode(), now)


def _answer(out: FakeOutput, name: str) -> dict[str, Any]:
    cmd = mt.BY_NAME[name]
    frame = next(f for f in out.serial if (f.subsystem, f.command) == (int(cmd.subsystem), cmd.id))
    return mt.parse_response(name, frame)


def _started(now: float = 0.0) -> FakeZnp:
    fake = FakeZnp(IEEE, seed=3)
    _ask(fake, "AF.Register", Endpoint=1, ProfileId=0x0104, DeviceId=0x0400, DeviceVersion=0, LatencyReq=0,
         InputClusters=[0x0000], OutputClusters=[])
    out = _ask(fake, "AppConfig.BDBStartCommissioning", now, Mode=0x04)
    assert _answer(out, "AppConfig.BDBCommissioningNotification")["Status"] == 1  # in progress first
    states = [mt.parse_response("ZDO.StateChangeInd", f)["State"] for f in out.serial if f.command == 0xC0]
    assert states == [8, 9]  # starting, then started as coordinator
    return fake


def test_ping_version_and_unknown_commands():
    fake = FakeZnp(IEEE)
    assert _answer(_ask(fake, "SYS.Ping"), "SYS.Ping")["Capabilities"] & 0x0400  # APP_CNF: a Z-Stack 3
    assert _answer(_ask(fake, "SYS.Version"), "SYS.Version")["CodeRevision"] >= 20210708
    out = fake.receive(MtFrame(MtType.SREQ, 0x01, 0x7E).encode(), 0.0)
    err = _answer(out, "RPCError.CommandNotRecognized")
    assert (err["ErrorCode"], err["Cmd0"], err["Cmd1"]) == (2, 0x21, 0x7E) and "0x7E" in out.notes[0]


def test_nv_items_behave_as_z_stack_does():
    fake = FakeZnp(IEEE)
    assert _answer(_ask(fake, "SYS.OSALNVLength", Id=0x0200), "SYS.OSALNVLength")["ItemLen"] == 0
    created = _ask(fake, "SYS.OSALNVItemInit", Id=0x0200, ItemLen=4, Value=b"\x01\x02")
    assert _answer(created, "SYS.OSALNVItemInit")["Status"] == 0x09  # NV_ITEM_UNINIT: created now
    assert _answer(_ask(fake, "SYS.OSALNVItemInit", Id=0x0200, ItemLen=4, Value=b""),
                   "SYS.OSALNVItemInit")["Status"] == 0
    _ask(fake, "SYS.OSALNVWriteExt", Id=0x0200, Offset=2, Value=b"\xAA\xBB")
    assert _answer(_ask(fake, "SYS.OSALNVReadExt", Id=0x0200, Offset=0), "SYS.OSALNVReadExt")["Value"] == \
        b"\x01\x02\xAA\xBB"
    too_long = _ask(fake, "SYS.OSALNVWriteExt", Id=0x0200, Offset=3, Value=b"\x00\x00")
    assert _answer(too_long, "SYS.OSALNVWriteExt")["Status"] == 0x0C  # never grows on write
    # Extended items: the address manager table is there, sub id by sub id, and ends.
    assert _answer(_ask(fake, "SYS.NVLength", SysId=1, ItemId=1, SubId=0), "SYS.NVLength")["Length"] == 11
    assert _answer(_ask(fake, "SYS.NVLength", SysId=1, ItemId=1, SubId=64), "SYS.NVLength")["Length"] == 0
    # OSAL id N is extended (ZSTACK, LEGACY, N): one store.
    assert _answer(_ask(fake, "SYS.NVRead", SysId=1, ItemId=0, SubId=0x0200, Offset=0, Length=4),
                   "SYS.NVRead")["Value"] == b"\x01\x02\xAA\xBB"


def test_formation_writes_a_nib_that_a_reset_keeps_and_a_clear_wipes():
    fake = _started()
    state = fake.state
    assert state.formed and state.started and 11 <= state.channel <= 26 and state.pan_id < 0xFFF8
    nib = nv.parse_nib(fake.nv.get(nv.NIB_ID) or b"")
    assert nib["nwkLogicalChannel"] == state.channel and nib["nwkKeyLoaded"] == 1
    reset = _ask(fake, "SYS.ResetReq", Type=1)
    assert reset.serial[0].command == 0x80 and not fake.started
    again = _ask(fake, "AppConfig.BDBStartCommissioning", Mode=0x04)
    assert fake.state.pan_id == state.pan_id  # resumed, not re-formed
    final = [f for f in again.serial if f.command == 0x80][-1]
    assert mt.parse_response("AppConfig.BDBCommissioningNotification", final)["Status"] == 8  # "failure": resumed
    _ask(fake, "SYS.OSALNVWrite", Id=nv.STARTUP_OPTION, Offset=0, Value=b"\x03")
    _ask(fake, "SYS.ResetReq", Type=1)
    assert not fake.state.formed and fake.nv.get(nv.EXTADDR) == IEEE[::-1]


def test_ic2_joins_need_a_permit_and_the_registered_key():
    fake = _started()
    desc = zdo.meter_descriptor(METER, 0xFFFE, "ESME", 0x1234)
    with pytest.raises(JoinRefusedByTrustCentre, match="not permitted"):
        fake.join(desc, KEY, 1.0)
    _ask(fake, "AppConfig.BDBAddInstallCode", 1.0, InstallCodeFormat=1, IEEE=METER, InstallCode=CODE)
    _ask(fake, "AppConfig.BDBSetJoinUsesInstallCodeKey", 1.0, BdbJoinUsesInstallCodeKey=1)
    opened = _ask(fake, "ZDO.MgmtPermitJoinReq", 1.0, AddrMode=2, Dst=0, Duration=60, TCSignificance=1)
    assert _answer(opened, "ZDO.PermitJoinInd")["Duration"] == 60
    with pytest.raises(JoinRefusedByTrustCentre, match="does not match the install code"):
        fake.join(desc, bytes(16), 2.0)
    other = zdo.meter_descriptor(bytes.fromhex("00DB1234567890A9"), 0xFFFE, "ESME", 0x1234)
    with pytest.raises(JoinRefusedByTrustCentre, match="no install code registered"):
        fake.join(other, b"ZigBeeAlliance09", 2.0)
    nwk, out = fake.join(desc, KEY, 2.0)
    tc = _answer(out, "ZDO.TCDevInd")
    assert tc == {"SrcNwk": nwk, "SrcIEEE": METER, "ParentNwk": 0}
    annce = _answer(out, "ZDO.MsgCbIncoming")
    assert annce["ClusterId"] == zdo.DEVICE_ANNCE and annce["Data"][2:10] == METER[::-1]
    with pytest.raises(JoinRefusedByTrustCentre, match="not permitted"):
        fake.join(desc, KEY, 61.0)  # the window closed


def _joined() -> tuple[FakeZnp, int]:
    fake = _started()
    _ask(fake, "AppConfig.BDBAddInstallCode", InstallCodeFormat=2, IEEE=METER, InstallCode=KEY)
    _ask(fake, "ZDO.MgmtPermitJoinReq", AddrMode=15, Dst=0xFFFC, Duration=254, TCSignificance=1)
    nwk, _ = fake.join(zdo.meter_descriptor(METER, 0xFFFE, "ESME", 0x1234), KEY, 1.0)
    return fake, nwk


def _data(nwk: int, data: bytes, *, dst_ep: int = 1, cluster: int = CLUSTER_TUNNELING) -> dict[str, Any]:
    return {"DstAddrModeAddress": {"mode": 2, "address": nwk.to_bytes(2, "little") + bytes(6)},
            "DstEndpoint": dst_ep, "DstPanId": 0, "SrcEndpoint": 1, "ClusterId": cluster, "TSN": 7,
            "Options": 0x40, "Radius": 0, "DataLength": len(data), "Data": data}


def test_data_to_a_device_leaves_on_the_air_and_is_confirmed():
    fake, nwk = _joined()
    out = _ask(fake, "AF.DataRequestExt", 2.0, **_data(nwk, b"\x01\x02\x03"))
    assert _answer(out, "AF.DataRequestExt")["Status"] == 0
    assert _answer(out, "AF.DataConfirm") == {"Status": 0, "Endpoint": 1, "TSN": 7}
    (air,) = out.air
    assert (air.dst, air.dst_nwk, air.payload, air.aps_secured) == (METER, nwk, b"\x01\x02\x03", True)
    nobody = _ask(fake, "AF.DataRequestExt", 2.0, **_data(0x7777, b"\x00"))
    assert _answer(nobody, "AF.DataConfirm")["Status"] == 0xE9 and not nobody.air  # MAC_NO_ACK


def test_the_chip_answers_zdo_for_the_device_and_relays_its_frames():
    fake, nwk = _joined()
    out = _ask(fake, "AF.DataRequestExt", 2.0, **_data(nwk, bytes((5,)) + nwk.to_bytes(2, "little"), dst_ep=0,
                                                      cluster=zdo.NODE_DESC_REQ))
    rsp = _answer(out, "ZDO.MsgCbIncoming")
    assert (rsp["Src"], rsp["ClusterId"], rsp["TSN"]) == (nwk, zdo.NODE_DESC_RSP, 5) and rsp["Data"][0] == 0
    up = fake.from_device(HanPacket(METER, IEEE, CLUSTER_TUNNELING, b"\x19\x01\x01" + bytes(20)), 3.0)
    msg = _answer(up, "AF.IncomingMsg")
    assert (msg["SrcAddr"], msg["ClusterId"], msg["Data"][:3]) == (nwk, CLUSTER_TUNNELING, b"\x19\x01\x01")
    stranger = fake.from_device(HanPacket(bytes(8), IEEE, CLUSTER_TUNNELING, b"\x00"), 3.0)
    assert not stranger.serial and "not joined" in stranger.notes[0]
    left = _ask(fake, "ZDO.MgmtLeaveReq", 4.0, DstAddr=nwk, IEEE=METER, Options=0)
    assert left.left == [METER] and _answer(left, "ZDO.LeaveInd")["IEEE"] == METER


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([c for c in mt.TABLE if c.request is not None]), st.binary(max_size=80))
def test_fuzz_every_request_is_answered_never_raised(cmd: mt.Command, data: bytes):
    fake, _ = _joined()
    frame = MtFrame(MtType.SREQ if cmd.response is not None else MtType.AREQ, int(cmd.subsystem), cmd.id, data)
    out = fake.receive(frame.encode(), 5.0)
    if cmd.response is not None:
        assert out.serial and out.serial[0].type is MtType.SRSP  # an answer or an RPC error, at once


@given(st.binary(max_size=600))
def test_fuzz_raw_bytes(data: bytes):
    fake, _ = _joined()
    fake.receive(data, 5.0)
    # Still answering once the chip's frame timeout has passed (a half frame is dropped).
    assert _answer(_ask(fake, "SYS.Ping", 6.0), "SYS.Ping")["Capabilities"]
