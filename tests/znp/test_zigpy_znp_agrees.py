"""The fake's command table against zigpy-znp's own (an independent reading of TI's MT guide):
every id matches, every frame the fake builds parses there, and what zigpy-znp sends parses here."""

from __future__ import annotations

import pytest

from emulator.znp import commands as mt
from emulator.znp.mt import MtFrame

zc = pytest.importorskip("zigpy_znp.commands")
zf = pytest.importorskip("zigpy_znp.frames")
zt = pytest.importorskip("zigpy_znp.types")


def _theirs(cmd: mt.Command):
    sub, name = cmd.name.split(".")
    subsystem = getattr(zc, {"AppConfig": "AppConfig", "RPCError": "RPCError"}.get(sub, sub))
    return getattr(subsystem, name)


def _zigpy_frame(frame: MtFrame):
    parsed, rest = zf.TransportFrame.deserialize(frame.encode())
    assert not rest
    return parsed.payload


@pytest.mark.parametrize("cmd", mt.TABLE, ids=lambda c: c.name)
def test_ids_match(cmd: mt.Command):
    theirs = _theirs(cmd)
    for kind in ("Req", "Rsp", "Callback"):
        cls = getattr(theirs, kind, None)
        if cls is not None:
            assert cls.header.id == cmd.id and int(cls.header.subsystem) == int(cmd.subsystem), kind


SAMPLES = {
    "SYS.Version": {"TransportRev": 2, "ProductId": 1, "MajorRel": 2, "MinorRel": 7, "MaintRel": 1,
                    "CodeRevision": 20240710, "BootloaderBuildType": 0, "BootloaderRevision": 0xFFFFFFFF},
    "SYS.OSALNVReadExt": {"Status": 0, "Value": b"\x01\x02"},
    "SYS.NVLength": {"Length": 11},
    "UTIL.GetDeviceInfo": {"Status": 0, "IEEE": bytes.fromhex("00124B0001020304"), "NWK": 0, "DeviceType": 7,
                           "DeviceState": 9, "AssociatedDevices": [0x1234]},
    "ZDO.TCDevInd": {"SrcNwk": 0x1234, "SrcIEEE": bytes.fromhex("00DB1234567890A0"), "ParentNwk": 0},
    "ZDO.MsgCbIncoming": {"Src": 0x1234, "IsBroadcast": 0, "ClusterId": 0x8002, "SecurityUse": 0, "TSN": 5,
                          "MacDst": 0, "Data": b"\x00\x34\x12" + bytes(13)},
    "AF.IncomingMsg": {"GroupId": 0, "ClusterId": 0x0704, "SrcAddr": 0x1234, "SrcEndpoint": 1, "DstEndpoint": 1,
                       "WasBroadcast": 0, "LQI": 200, "SecurityUse": 1, "TimeStamp": 5, "TSN": 9,
                       "Data": b"\x19\x01\x01", "MacSrcAddr": 0x1234, "MsgResultRadius": 0},
    "AF.DataConfirm": {"Status": 0, "Endpoint": 1, "TSN": 7},
    "AF.DataRetrieve": {"Status": 0, "Data": bytes(range(200))},
    "AF.DataStore": {"Status": 0x10},
    # Inline (220 bytes or fewer): zigpy-znp parses it; a held one it cannot (the adapter takes it).
    "AF.IncomingMsgExt": {"GroupId": 0, "ClusterId": 0x0704,
                          "SrcAddrModeAddress": {"mode": 2, "address": b"\x34\x12" + bytes(6)}, "SrcEndpoint": 1,
                          "SrcPanId": 0, "DstEndpoint": 9, "WasBroadcast": 0, "LQI": 200, "SecurityUse": 1,
                          "TimeStamp": 5, "TSN": 9, "DataLength": 3, "Data": b"\x19\x01\x01", "MacSrcAddr": 0x1234,
                          "MsgResultRadius": 0},
    "AppConfig.BDBCommissioningNotification": {"Status": 0, "Mode": 4, "RemainingModes": 0},
    "SYS.ResetInd": {"Reason": 1, "TransportRev": 2, "ProductId": 1, "MajorRel": 2, "MinorRel": 7, "MaintRel": 1},
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_what_the_fake_sends_parses_in_zigpy_znp(name: str):
    cmd = mt.BY_NAME[name]
    frame = mt.response(name, **SAMPLES[name]) if cmd.response is not None else mt.callback(name, **SAMPLES[name])
    theirs = _theirs(cmd)
    cls = theirs.Rsp if cmd.response is not None else theirs.Callback
    parsed = cls.from_frame(_zigpy_frame(frame))
    for key, value in SAMPLES[name].items():
        if key == "DataLength":  # zigpy-znp folds the length into its LongBytes
            assert len(parsed.Data) == value
            continue
        got = getattr(parsed, key)
        if key == "SrcAddrModeAddress":
            assert (int(got.mode), int(got.address)) == (2, 0x1234)
        elif isinstance(value, bytes) and len(value) == 8 and key in ("IEEE", "SrcIEEE"):
            assert got == zt.EUI64(value[::-1]), key
        elif isinstance(value, bytes):
            assert bytes(got) == value, key
        elif isinstance(value, list):
            assert list(got) == value, key
        else:
            assert int(got) == value, key


def test_what_zigpy_znp_sends_parses_here():
    requests = [
        zc.SYS.OSALNVWriteExt.Req(Id=0x21, Offset=0, Value=zt.ShortBytes(b"\x01" * 10)),
        zc.SYS.NVRead.Req(SysId=1, ItemId=1, SubId=3, Offset=0, Length=11),
        zc.AppConfig.BDBAddInstallCode.Req(InstallCodeFormat=zc.app_config.InstallCodeFormat(2),
                                           IEEE=zt.EUI64.convert("00:DB:12:34:56:78:90:A0"),
                                           InstallCode=bytes(range(16))),
        zc.AF.DataRequestExt.Req(DstAddrModeAddress=zt.AddrModeAddress(mode=zt.AddrMode.NWK, address=0x1234),
                                 DstEndpoint=1, DstPanId=0, SrcEndpoint=1, ClusterId=0x0704, TSN=3,
                                 Options=zc.af.TransmitOptions(0x40),
                                 Radius=0, Data=b"\x01\x02"),
        zc.AF.DataStore.Req(Index=247, Data=zt.ShortBytes(bytes(247))),
        zc.AF.DataRetrieve.Req(TimeStamp=0x12345678, Index=248, Length=52),
        zc.AF.APSFConfigSet.Req(Endpoint=9, FrameDelay=50, WindowSize=1),
        zc.AF.Register.Req(Endpoint=9, ProfileId=0x0109, DeviceId=0x0500, DeviceVersion=0,
                           LatencyReq=zc.af.LatencyReq(0),
                           InputClusters=[0, 0x0704], OutputClusters=[0x0704]),
    ]
    for req in requests:
        frame = MtFrame.decode(zf.TransportFrame(req.to_frame()).serialize())
        cmd, fields = mt.parse_request(frame)
        assert cmd.name == ".".join(type(req).__qualname__.split(".")[:2])
    assert fields["InputClusters"] == [0, 0x0704]


def test_the_adapters_held_request_parses_here_with_its_length_and_no_data():
    """The adapter's AF.DataRequestExt for a large frame: zigpy-znp's own Req, with data that
    serialises to its length only (the bytes follow by AF.DataStore)."""
    from emulator.transport.zigpy_znp_large import ZnpLargeMessages

    class _App:
        _znp = None

    large = ZnpLargeMessages(_App())
    req = zc.AF.DataRequestExt.Req(DstAddrModeAddress=zt.AddrModeAddress(mode=zt.AddrMode.NWK, address=0x1234),
                                   DstEndpoint=1, DstPanId=0, SrcEndpoint=9, ClusterId=0x0704, TSN=3,
                                   Options=zc.af.TransmitOptions(0x40), Radius=0,
                                   Data=large._length_only(bytes(499)))
    wire = zf.TransportFrame(req.to_frame()).serialize()
    assert len(wire) == 5 + 20
    cmd, fields = mt.parse_request(MtFrame.decode(wire))
    assert cmd.name == "AF.DataRequestExt" and (fields["DataLength"], fields["Data"]) == (499, b"")
