"""The device side of ZDO: descriptors, the responder's answers (golden bytes), fuzzing, and a
cross-check against zigpy's own ZDO parser when the radio extra is installed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee import zdo
from emulator.zigbee.errors import ZdoError, ZigbeeDecodeError, ZigbeeEncodeError
from emulator.zigbee.zdo import (
    DeviceDescriptor,
    Endpoint,
    LogicalType,
    NodeDescriptor,
    ZdoResponder,
    ZdoStatus,
    device_annce,
    meter_descriptor,
)

EUI = bytes.fromhex("0011223344556677")
EUI_LE = "7766554433221100"
NWK = 0x1A2B
MFR = 0x1234

ESME_NODE = "01408e3412" "52" "5200" "002a" "5200" "00"
GSME_NODE = "0240803412" "52" "5200" "002a" "5200" "00"
# Endpoint 1, SE profile 0x0109, Metering Device 0x0501, version 0; inputs Basic, Identify,
# Metering, Tunneling, Key Establishment; outputs OTA, Tunneling, Time.
SIMPLE = "01" "0901" "0105" "00" "05" "0000" "0300" "0207" "0407" "0008" "03" "1900" "0407" "0a00"


def _esme() -> ZdoResponder:
    return ZdoResponder(meter_descriptor(EUI, NWK, "ESME", MFR))


def _gsme() -> ZdoResponder:
    return ZdoResponder(meter_descriptor(EUI, NWK, "GSME", MFR))


def _ask(responder: ZdoResponder, cluster: int, hex_frame: str) -> tuple[int, str] | None:
    answer = responder.respond(cluster, bytes.fromhex(hex_frame))
    return None if answer is None else (answer[0], answer[1].hex())


# --- descriptors ------------------------------------------------------------------------------

def test_node_descriptor_golden_bytes():
    esme = NodeDescriptor.mains_router(MFR)
    gsme = NodeDescriptor.sleepy_end_device(MFR)
    assert esme.encode().hex() == ESME_NODE and len(esme.encode()) == zdo.NODE_DESCRIPTOR_SIZE
    assert gsme.encode().hex() == GSME_NODE
    assert NodeDescriptor.decode(bytes.fromhex(ESME_NODE)) == esme
    assert not esme.is_end_device and gsme.is_end_device


node_descriptors = st.builds(
    NodeDescriptor,
    st.sampled_from(LogicalType), st.integers(0, 0xFF), st.integers(0, 0xFFFF),
    max_buffer_size=st.integers(0, 0xFF), max_incoming_transfer_size=st.integers(0, 0xFFFF),
    max_outgoing_transfer_size=st.integers(0, 0xFFFF), server_mask=st.integers(0, 0xFFFF),
    descriptor_capability=st.integers(0, 0xFF), frequency_band=st.integers(0, 0x1F),
    complex_descriptor_available=st.booleans(), user_descriptor_available=st.booleans(),
    aps_flags=st.integers(0, 7), reserved=st.integers(0, 7))


@given(node_descriptors)
def test_node_descriptor_round_trip(node: NodeDescriptor) -> None:
    wire = node.encode()
    assert len(wire) == 13 and NodeDescriptor.decode(wire) == node


@given(st.binary(min_size=13, max_size=13))
def test_any_13_bytes_with_a_known_logical_type_re_encode_unchanged(wire: bytes) -> None:
    if wire[0] & 0b111 > 2:
        with pytest.raises(ZdoError, match="reserved logical type"):
            NodeDescriptor.decode(wire)
    else:
        assert NodeDescriptor.decode(wire).encode() == wire


def test_node_descriptor_refusals():
    with pytest.raises(ZdoError, match="frame ends inside"):
        NodeDescriptor.decode(bytes.fromhex(ESME_NODE)[:12])
    with pytest.raises(ZdoError, match="unexpected bytes"):
        NodeDescriptor.decode(bytes.fromhex(ESME_NODE) + b"\x00")
    with pytest.raises(ZigbeeEncodeError, match="manufacturer_code"):
        NodeDescriptor(LogicalType.ROUTER, 0, 0x10000)
    with pytest.raises(ZigbeeEncodeError, match="reserved"):
        NodeDescriptor(3, 0, 0)  # type: ignore[arg-type]


def test_simple_descriptor_and_meter_shapes():
    esme = meter_descriptor(EUI, NWK, "ESME", MFR)
    gsme = meter_descriptor(EUI, NWK, "GSME", MFR)
    assert esme.endpoints == gsme.endpoints and esme.endpoints[0].encode().hex() == SIMPLE
    assert Endpoint.decode(bytes.fromhex(SIMPLE)) == esme.endpoints[0]
    assert esme.node.logical_type is LogicalType.ROUTER and gsme.node.logical_type is LogicalType.END_DEVICE
    with pytest.raises(ZigbeeEncodeError, match="GPF"):
        meter_descriptor(EUI, NWK, "GPF", MFR)
    with pytest.raises(ZigbeeEncodeError, match="1-254"):
        Endpoint(0, 0x0109, 0, 0, (), ())
    with pytest.raises(ZigbeeEncodeError, match="repeat"):
        DeviceDescriptor(EUI, NWK, esme.node, esme.endpoints * 2)


def test_device_annce_golden_bytes():
    assert device_annce(0x20, NWK, EUI, 0x8E).hex() == "202b1a" + EUI_LE + "8e"
    assert _esme().announce(0x21).hex() == "212b1a" + EUI_LE + "8e"
    assert _gsme().announce(0x22).hex() == "222b1a" + EUI_LE + "80"
    with pytest.raises(ZigbeeEncodeError):
        device_annce(0, NWK, EUI[:7], 0)


# --- the responder: golden bytes --------------------------------------------------------------

GOLDEN = [
    # (responder, request cluster, request, response cluster, response)
    ("esme", zdo.NODE_DESC_REQ, "112b1a", 0x8002, "11002b1a" + ESME_NODE),
    ("gsme", zdo.NODE_DESC_REQ, "112b1a", 0x8002, "11002b1a" + GSME_NODE),
    ("esme", zdo.NODE_DESC_REQ, "110100", 0x8002, "11810100"),  # router: not one of its children
    ("gsme", zdo.NODE_DESC_REQ, "110100", 0x8002, "11800100"),  # end device: invalid request type
    ("esme", zdo.ACTIVE_EP_REQ, "122b1a", 0x8005, "12002b1a0101"),
    ("esme", zdo.ACTIVE_EP_REQ, "120100", 0x8005, "1281010000"),
    ("esme", zdo.SIMPLE_DESC_REQ, "132b1a01", 0x8004, "13002b1a18" + SIMPLE),
    ("esme", zdo.SIMPLE_DESC_REQ, "132b1a02", 0x8004, "13832b1a00"),  # valid number, no endpoint
    ("esme", zdo.SIMPLE_DESC_REQ, "132b1a00", 0x8004, "13822b1a00"),  # 0 is not an application endpoint
    ("esme", zdo.SIMPLE_DESC_REQ, "132b1aff", 0x8004, "13822b1a00"),
    ("esme", zdo.SIMPLE_DESC_REQ, "13010001", 0x8004, "1381010000"),
    ("esme", zdo.NWK_ADDR_REQ, "14" + EUI_LE + "0000", 0x8000, "1400" + EUI_LE + "2b1a"),
    ("esme", zdo.NWK_ADDR_REQ, "14" + EUI_LE + "0100", 0x8000, "1400" + EUI_LE + "2b1a00"),
    ("esme", zdo.NWK_ADDR_REQ, "14" + EUI_LE + "0200", 0x8000, "1480" + EUI_LE + "2b1a"),
    ("esme", zdo.IEEE_ADDR_REQ, "152b1a0000", 0x8001, "1500" + EUI_LE + "2b1a"),
    ("esme", zdo.IEEE_ADDR_REQ, "152b1a0100", 0x8001, "1500" + EUI_LE + "2b1a00"),
    ("esme", zdo.IEEE_ADDR_REQ, "153412" "0000", 0x8001, "1581" + "ff" * 8 + "3412"),
    # Match_Desc_req: broadcast, SE profile, no input clusters, output OTA -> endpoint 1.
    ("esme", zdo.MATCH_DESC_REQ, "16fdff0901" "00" "011900", 0x8006, "16002b1a0101"),
    ("esme", zdo.MATCH_DESC_REQ, "162b1affff" "010207" "00", 0x8006, "16002b1a0101"),  # wildcard profile
    ("esme", zdo.MATCH_DESC_REQ, "162b1a0401" "010607" "00", 0x8006, "16002b1a00"),  # unicast, no match
    ("gsme", zdo.MATCH_DESC_REQ, "1601000901" "00" "00", 0x8006, "1680010000"),
    ("esme", zdo.MGMT_LEAVE_REQ, "17" + EUI_LE + "00", 0x8034, "1700"),
    ("esme", zdo.MGMT_LEAVE_REQ, "17" + "11" * 8 + "00", 0x8034, "17c2"),
    ("esme", zdo.MGMT_PERMIT_JOINING_REQ, "183c00", 0x8036, "1800"),
    ("esme", zdo.MGMT_LQI_REQ, "1900", 0x8031, "1984"),
    ("esme", 0x0003, "1a2b1a", 0x8003, "1a84"),  # Power_Desc_req: not implemented, said so
    ("esme", 0x0021, "1b", 0x8021, "1b84"),  # Bind_req
]


@pytest.mark.parametrize(("who", "cluster", "request_hex", "rsp_cluster", "rsp_hex"), GOLDEN)
def test_golden_responses(who: str, cluster: int, request_hex: str, rsp_cluster: int, rsp_hex: str):
    responder = _esme() if who == "esme" else _gsme()
    assert _ask(responder, cluster, request_hex) == (rsp_cluster, rsp_hex)


def test_silences():
    r = _esme()
    assert _ask(r, zdo.NWK_ADDR_REQ, "14" + "11" * 8 + "0000") is None  # someone else's IEEE address
    assert _ask(r, zdo.MATCH_DESC_REQ, "16fdff0401" "010607" "00") is None  # broadcast, no match
    assert _ask(r, zdo.DEVICE_ANNCE, "202b1a" + EUI_LE + "8e") is None
    assert _ask(r, zdo.NODE_DESC_RSP, "11002b1a" + ESME_NODE) is None
    assert _ask(r, 0x8031, "") is None


def test_management_flags():
    r = _esme()
    assert not r.leave_requested and r.permit_duration is None
    _ask(r, zdo.MGMT_LEAVE_REQ, "17" + "11" * 8 + "80")  # another device: nothing for us to do
    assert not r.leave_requested
    assert _ask(r, zdo.MGMT_LEAVE_REQ, "17" + "00" * 8 + "80") == (0x8034, "1700")  # zero address means us
    assert r.leave_requested and r.rejoin_requested
    _ask(r, zdo.MGMT_PERMIT_JOINING_REQ, "18fe01")
    assert r.permit_duration == 0xFE


def test_trailing_bytes_are_ignored_and_nwk_can_change():
    r = _esme()
    assert _ask(r, zdo.ACTIVE_EP_REQ, "122b1aee") == (0x8005, "12002b1a0101")
    r.device = meter_descriptor(EUI, 0x0042, "ESME", MFR)
    assert _ask(r, zdo.ACTIVE_EP_REQ, "124200") == (0x8005, "120042000101")


@pytest.mark.parametrize(("cluster", "frame", "field"), [
    (zdo.NODE_DESC_REQ, "112b", "NWKAddrOfInterest"),
    (zdo.SIMPLE_DESC_REQ, "132b1a", "EndPoint"),
    (zdo.NWK_ADDR_REQ, "14" + EUI_LE + "00", "StartIndex"),
    (zdo.MATCH_DESC_REQ, "16fdff090102", "InClusterList"),
    (zdo.MGMT_LEAVE_REQ, "17001122", "DeviceAddress"),
    (zdo.MGMT_LQI_REQ, "19", "StartIndex"),
])
def test_truncated_requests_raise_zdo_error_naming_command_and_field(cluster: int, frame: str, field: str):
    with pytest.raises(ZdoError) as e:
        _esme().respond(cluster, bytes.fromhex(frame))
    name = zdo.COMMAND_NAMES[cluster]
    assert e.value.command == name and e.value.field == field
    assert str(e.value).startswith(f"{name}: frame ends inside {field}")
    assert isinstance(e.value, ZigbeeDecodeError)


def test_empty_frame_has_no_tsn():
    with pytest.raises(ZdoError, match="Node_Desc_req: empty frame"):
        _esme().respond(zdo.NODE_DESC_REQ, b"")
    with pytest.raises(ZdoError, match="0x0003: empty frame"):
        _esme().respond(0x0003, b"")


# --- fuzzing ----------------------------------------------------------------------------------

REQUESTS = [*sorted(set(zdo.COMMAND_NAMES) - {zdo.DEVICE_ANNCE}), 0x0003, 0x0021, 0x0038, 0x7FFF]
IMPLEMENTED = {c | 0x8000 for c in zdo.COMMAND_NAMES} - {zdo.DEVICE_ANNCE | 0x8000}
MAY_STAY_SILENT = {zdo.NWK_ADDR_REQ, zdo.MATCH_DESC_REQ}
STATUSES = {int(s) for s in ZdoStatus} | {zdo.NWK_UNKNOWN_DEVICE}


@st.composite
def requests(draw: st.DrawFn) -> tuple[int, bytes]:
    cluster = draw(st.sampled_from(REQUESTS))
    # Half the time aim at this device's address, so the success paths are fuzzed too.
    head = draw(st.sampled_from([b"", bytes((draw(st.integers(0, 255)),)) + NWK.to_bytes(2, "little")]))
    return cluster, head + draw(st.binary(max_size=40))


def _fuzz(responder: ZdoResponder, cluster: int, frame: bytes) -> tuple[int, bytes] | None:
    try:
        answer = responder.respond(cluster, frame)
    except ZdoError as e:
        assert e.command and str(e).startswith(e.command)
        return None
    if answer is None:
        assert cluster in MAY_STAY_SILENT
        return None
    rsp_cluster, rsp = answer
    assert rsp_cluster == cluster | 0x8000 and rsp[0] == frame[0] and rsp[1] in STATUSES
    return answer


@given(requests(), st.booleans())
def test_fuzz_respond_answers_well_formed_or_raises_zdo_error(request: tuple[int, bytes], sleepy: bool) -> None:
    _fuzz(_gsme() if sleepy else _esme(), *request)


# --- cross-check with zigpy's own ZDO parser ----------------------------------------------------

def _zigpy_parse(cluster: int, frame: bytes) -> tuple[int, list[Any]]:
    """zigpy's ZDO deserialisation (what ``zigpy.zdo.ZDO.deserialize`` does), refusing leftovers."""
    zdo_t = pytest.importorskip("zigpy.zdo.types")
    import zigpy.types as t

    _, param_types = zdo_t.CLUSTERS[cluster]
    hdr, rest = zdo_t.ZDOHeader.deserialize(cluster, frame)
    args, rest = t.deserialize(rest, param_types)
    assert rest == b"", f"zigpy left {rest.hex()} of 0x{cluster:04X} {frame.hex()}"
    return int(hdr.tsn), list(args)


def test_zigpy_parses_every_golden_response():
    zdo_t = pytest.importorskip("zigpy.zdo.types")
    import zigpy.types as t

    ieee = t.EUI64.convert("00:11:22:33:44:55:66:77")
    for who, cluster, request_hex, rsp_cluster, _ in GOLDEN:
        if rsp_cluster not in IMPLEMENTED:
            continue  # a generic NOT_SUPPORTED carries the status only: its full layout is unknown to us
        responder = _esme() if who == "esme" else _gsme()
        answer = responder.respond(cluster, bytes.fromhex(request_hex))
        assert answer is not None
        tsn, args = _zigpy_parse(*answer)
        assert tsn == int(request_hex[:2], 16)
        assert args[0] == answer[1][1]  # the status, first in every response
        if rsp_cluster == zdo.NODE_DESC_RSP and args[0] == zdo_t.Status.SUCCESS:
            node = args[2]
            assert args[1] == NWK and node.manufacturer_code == MFR
            assert node.frequency_band == zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz
            assert node.maximum_buffer_size == 82 and node.maximum_incoming_transfer_size == 82
            assert node.maximum_outgoing_transfer_size == 82 and node.server_mask == 21 << 9
            if who == "esme":
                assert node.is_router and node.is_mains_powered and node.is_receiver_on_when_idle
                assert node.is_full_function_device and node.allocate_address
            else:
                assert node.is_end_device and not node.is_mains_powered and not node.is_receiver_on_when_idle
        if rsp_cluster == zdo.SIMPLE_DESC_RSP and args[0] == zdo_t.Status.SUCCESS:
            sd = args[2]
            assert (sd.endpoint, sd.profile, sd.device_type, sd.device_version) == (1, 0x0109, 0x0501, 0)
            assert list(sd.input_clusters) == [0x0000, 0x0003, 0x0702, 0x0704, 0x0800]
            assert list(sd.output_clusters) == [0x0019, 0x0704, 0x000A]
        elif rsp_cluster == zdo.SIMPLE_DESC_RSP:
            assert args[2] is None  # Length 0: zigpy reads no descriptor
        if rsp_cluster == zdo.ACTIVE_EP_RSP and args[0] == zdo_t.Status.SUCCESS:
            assert list(args[2]) == [1]
        if rsp_cluster in (zdo.NWK_ADDR_RSP, zdo.IEEE_ADDR_RSP) and args[0] == zdo_t.Status.SUCCESS:
            assert args[1] == ieee and args[2] == NWK
            assert args[3] == (0 if request_hex[-4:-2] == "01" else None)  # NumAssocDev on extended only
        if rsp_cluster == zdo.MATCH_DESC_RSP and args[0] == zdo_t.Status.SUCCESS:
            assert args[1] == NWK and list(args[2]) in ([1], [])


def test_zigpy_parses_device_annce():
    zdo_t = pytest.importorskip("zigpy.zdo.types")
    import zigpy.types as t

    tsn, (nwk, ieee, capability) = _zigpy_parse(zdo_t.ZDOCmd.Device_annce, _esme().announce(0x33))
    assert (tsn, nwk, capability) == (0x33, NWK, 0x8E)
    assert ieee == t.EUI64.convert("00:11:22:33:44:55:66:77")
    caps = zdo_t.NodeDescriptor.MACCapabilityFlags(capability)
    assert caps & caps.MainsPowered and caps & caps.RxOnWhenIdle and caps & caps.AllocateAddress


def test_zigpy_node_descriptor_agrees_field_by_field():
    zdo_t = pytest.importorskip("zigpy.zdo.types")
    node = NodeDescriptor(LogicalType.END_DEVICE, 0x8C, 0xBEEF, max_buffer_size=0x7F, max_incoming_transfer_size=0x1234,
                          max_outgoing_transfer_size=0x4321, server_mask=0x2C41, descriptor_capability=3,
                          complex_descriptor_available=True, aps_flags=5, reserved=6)
    theirs, rest = zdo_t.NodeDescriptor.deserialize(node.encode())
    assert rest == b"" and theirs.serialize() == node.encode()
    assert (theirs.logical_type, theirs.complex_descriptor_available, theirs.user_descriptor_available,
            theirs.reserved, theirs.aps_flags) == (2, 1, 0, 6, 5)
    assert (theirs.mac_capability_flags, theirs.manufacturer_code, theirs.maximum_buffer_size,
            theirs.maximum_incoming_transfer_size, theirs.server_mask, theirs.maximum_outgoing_transfer_size,
            theirs.descriptor_capability_field) == (0x8C, 0xBEEF, 0x7F, 0x1234, 0x2C41, 0x4321, 3)


def test_zigpy_parses_a_generic_not_supported_where_the_response_is_status_only():
    zdo_t = pytest.importorskip("zigpy.zdo.types")
    assert _zigpy_parse(0x8021, bytes.fromhex("1b84")) == (0x1B, [zdo_t.Status.NOT_SUPPORTED])  # Bind_rsp


@given(requests(), st.booleans())
def test_zigpy_parses_every_fuzzed_response(request: tuple[int, bytes], sleepy: bool) -> None:
    pytest.importorskip("zigpy")
    answer = _fuzz(_gsme() if sleepy else _esme(), *request)
    if answer is not None and answer[0] in IMPLEMENTED:
        tsn, args = _zigpy_parse(*answer)
        assert tsn == request[1][0] and args[0] == answer[1][1]
