"""The fake EmberZNet NCP, sans-IO: version negotiation, forming, the trust centre's install-code
joins, unicasts too long for one frame refused, host-sent APS blocks confirmed by the device's
acknowledgement (or failed after retries), device blocks handed up with the fragment flag and
acknowledged by the host's sendReply."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.ezsp import commands as ez
from emulator.ezsp.ash import AshFrame, AshReader, Kind
from emulator.ezsp.errors import JoinRefused
from emulator.ezsp.fake import FakeNcp
from emulator.ezsp.ncp_tables import FakeOutput
from emulator.zigbee import zdo
from emulator.zigbee.packet import CLUSTER_TUNNELING, HanPacket

NCP = bytes.fromhex("000D6F0000ABCDEF")
METER = bytes.fromhex("00DB1234567890A0")
KEY = bytes(range(16))
NETWORK = {"extendedPanId": bytes.fromhex("DDDDDDDDDDDDDDDD"), "panId": 0x1A62, "radioTxPower": 8, "radioChannel": 15,
           "joinMethod": 0, "nwkManagerId": 0, "nwkUpdateId": 0, "channels": 1 << 15}
# EmberApsOption bits (UG100): ENCRYPTION 0x0020, RETRY 0x0040, FRAGMENT 0x8000.
ENCRYPTION, FRAGMENT = 0x0020, 0x8000


def _ask(fake: FakeNcp, name: str, now: float = 0.0, **fields: Any) -> tuple[dict[str, Any], list[bytes], FakeOutput]:
    out = FakeOutput()
    frames = fake.handle(ez.request(name, 0x10, **fields), now, out)
    assert frames, f"{name}: no answer"
    return ez.parse_response(name, frames[0]), frames[1:], out


def _names(frames: list[bytes]) -> list[str]:
    return [ez.BY_ID[ez.split_frame(f)[0].frame_id].name for f in frames]


def _formed(now: float = 0.0) -> FakeNcp:
    fake = FakeNcp(NCP, seed=3)
    assert fake.receive(AshFrame(Kind.RST).encode(), now).wire().startswith(b"\xc1\x02\x0b")  # RSTACK: the link is up
    assert _ask(fake, "networkInit", networkInitBitmask=0)[0]["status"] == 0x93  # NOT_JOINED: nothing formed yet
    rsp, cbs, _ = _ask(fake, "formNetwork", now, parameters=NETWORK)
    assert rsp["status"] == 0 and ez.parse_response("stackStatusHandler", cbs[0])["status"] == 0x90  # NETWORK_UP
    assert _ask(fake, "networkState")[0]["status"] == 2  # JOINED_NETWORK
    _ask(fake, "addEndpoint", endpoint=9, profileId=0x0109, deviceId=0x0500, deviceVersion=0, inputClusterCount=1,
         outputClusterCount=1, inputClusterList=[0x0704], outputClusterList=[0x0704])
    return fake


def _joined() -> tuple[FakeNcp, int]:
    fake = _formed()
    _ask(fake, "addTransientLinkKey", partner=METER, transientKey=KEY)
    _ask(fake, "setPolicy", policyId=0, decisionId=0x11)  # ALLOW_JOINS | JOINS_USE_INSTALL_CODE_KEY
    _ask(fake, "permitJoining", 1.0, duration=60)
    nwk, _ = fake.join(zdo.meter_descriptor(METER, 0xFFFE, "ESME", 0x1234), KEY, 2.0)
    return fake, nwk


def test_version_negotiation_answers_in_the_format_asked():
    fake = FakeNcp(NCP)
    out = FakeOutput()
    (frame,) = fake.handle(bytes.fromhex("00000004"), 0.0, out)  # version 4 format: seq fc id
    assert frame == bytes.fromhex("008000" "08" "02" "306A")
    (frame,) = fake.handle(ez.request("version", 1, desiredProtocolVersion=8), 0.0, out)
    assert ez.split_frame(frame)[0].format == 8 and ez.parse_response("version", frame)["protocolVersion"] == 8
    (frame,) = fake.handle(bytes.fromhex("0200014201"), 0.0, out)  # frame id 0x0142: not implemented
    assert ez.parse_response("invalidCommand", frame)["status"] == 0x31  # EZSP_ERROR_INVALID_FRAME_ID
    assert "0x0142" in out.notes[-1]


def test_ic2_trust_centre_takes_only_the_install_code_key_while_permitted():
    fake = _formed()
    meter = zdo.meter_descriptor(METER, 0xFFFE, "ESME", 0x1234)
    with pytest.raises(JoinRefused, match="not permitted"):
        fake.join(meter, KEY, 1.0)
    _ask(fake, "permitJoining", 1.0, duration=60)
    _ask(fake, "setPolicy", policyId=0, decisionId=0x11)
    with pytest.raises(JoinRefused, match="no install code registered"):
        fake.join(meter, KEY, 2.0)
    _ask(fake, "addTransientLinkKey", partner=METER, transientKey=KEY)
    with pytest.raises(JoinRefused, match="does not match the install code"):
        fake.join(meter, bytes(16), 2.0)
    nwk, out = fake.join(meter, KEY, 2.0)
    frames = _frames(fake, out)
    assert _names(frames) == ["childJoinHandler", "trustCenterJoinHandler", "incomingMessageHandler"]
    tc = ez.parse_response("trustCenterJoinHandler", frames[1])
    assert (tc["newNodeId"], tc["newNodeEui64"], tc["status"]) == (nwk, METER, 1)  # STANDARD_SECURITY_UNSECURED_JOIN
    annce = ez.parse_response("incomingMessageHandler", frames[2])
    assert annce["apsFrame"]["clusterId"] == zdo.DEVICE_ANNCE and annce["sender"] == nwk
    with pytest.raises(JoinRefused, match="closed"):
        fake.join(meter, KEY, 62.0)


def _frames(fake: FakeNcp, out: FakeOutput) -> list[bytes]:
    """The EZSP frames inside the ASH bytes the fake sent (not ASH's own retransmissions: nobody
    acknowledges them here)."""
    return [f.data for f in (AshFrame.decode(r) for r in AshReader().feed(out.wire()) if isinstance(r, bytes))
            if f.kind is Kind.DATA and not f.re_tx]


def _aps(options: int, group: int = 0) -> dict[str, int]:
    return {"profileId": 0x0109, "clusterId": CLUSTER_TUNNELING, "sourceEndpoint": 9, "destinationEndpoint": 1,
            "options": options, "groupId": group, "sequence": 0x21}


def test_dv7_a_frame_larger_than_one_aps_frame_is_refused_and_blocks_are_confirmed_by_the_device():
    fake, nwk = _joined()
    rsp, _, out = _ask(fake, "sendUnicast", 3.0, type=0, indexOrDestination=nwk, apsFrame=_aps(ENCRYPTION),
                       messageTag=1, messageContents=bytes(74))
    assert rsp["status"] == 0x74 and "at most 73" in out.notes[0]  # MESSAGE_TOO_LONG: the host must fragment
    # Block 0 of 2 (group id: count << 8 | index): on the air at once, confirmed only by the device's ack.
    rsp, cbs, out = _ask(fake, "sendUnicast", 3.0, type=0, indexOrDestination=nwk,
                         apsFrame=_aps(ENCRYPTION | FRAGMENT, 0x0200), messageTag=7, messageContents=bytes(71))
    assert rsp["status"] == 0 and not cbs
    ((_, block),) = out.fragments
    assert (block.dst, block.fragment, len(block.payload), block.aps_secured) == (METER, (0, 2), 71, True)
    assert list(fake.large.pending) == [METER]


def test_dv7_host_blocks_confirmed_retried_and_failed():
    fake, nwk = _joined()
    _rsp, _, _out = _ask(fake, "sendUnicast", 3.0, type=0, indexOrDestination=nwk,
                       apsFrame=_aps(ENCRYPTION | FRAGMENT, 0x0200), messageTag=7, messageContents=bytes(71))
    ack = fake.fragment_acknowledged(METER, 1, 3.1)
    (sent,) = _frames(fake, ack)
    fields = ez.parse_response("messageSentHandler", sent)
    assert (fields["messageTag"], fields["status"], fields["apsFrame"]["groupId"]) == (7, 0, 0x0200)
    # Block 1 is never acknowledged: sent again 3 times, ACK_WAIT_S apart, then DELIVERY_FAILED.
    _ask(fake, "sendUnicast", 3.2, type=0, indexOrDestination=nwk, apsFrame=_aps(ENCRYPTION | FRAGMENT, 0x0201),
         messageTag=8, messageContents=bytes(10))
    assert fake.large.next_deadline() == pytest.approx(3.2 + 1.6)
    retries = [len(fake.tick(3.2 + 1.61 * k).fragments) for k in (1, 2, 3)]
    assert retries == [1, 1, 1]
    failed = fake.tick(3.2 + 1.61 * 5)
    sent_handlers = [ez.parse_response("messageSentHandler", f) for f in _frames(fake, failed)]
    assert [(s["messageTag"], s["status"]) for s in sent_handlers] == [(8, 0x66)]  # DELIVERY_FAILED
    assert "after 3 retries" in failed.notes[0] and not fake.large.pending


def test_dv7_device_blocks_go_up_one_by_one_and_the_host_acknowledges_each():
    fake, nwk = _joined()
    whole = HanPacket(METER, NCP, CLUSTER_TUNNELING, bytes(range(100)), src_ep=1, dst_ep=9)
    blocks = [HanPacket(METER, NCP, CLUSTER_TUNNELING, whole.payload[i * 71:(i + 1) * 71], 1, 9, fragment=(i, 2))
              for i in range(2)]
    seen = []
    for block in blocks:
        (frame,) = _frames(fake, fake.from_device(block, 4.0))
        seen.append(ez.parse_response("incomingMessageHandler", frame))
    assert [m["apsFrame"]["groupId"] for m in seen] == [0x0200, 0x0201]
    assert all(m["apsFrame"]["options"] & FRAGMENT for m in seen)
    assert seen[0]["apsFrame"]["sequence"] == seen[1]["apsFrame"]["sequence"]  # one message: one APS counter
    assert b"".join(m["messageContents"] for m in seen) == whole.payload
    acks = []
    for index in (1, 0):  # bellows acknowledges each block with sendReply, group 0xFF00 | index
        _, _, out = _ask(fake, "sendReply", 4.1, sender=nwk, apsFrame=_aps(FRAGMENT | ENCRYPTION, 0xFF00 | index),
                         messageContents=b"")
        acks += out.acks
    assert acks == [(METER, 2)]  # block 1 alone acknowledges nothing below it; with block 0 both are


@settings(max_examples=60)  # each example forms a network and joins a meter first
@given(st.lists(st.tuples(st.sampled_from([c.id for c in ez.TABLE if c.parameters is not None] + [0x0142]),
                          st.binary(max_size=110)), max_size=8))
def test_fuzz_any_command_with_any_parameters_is_answered_never_raised(commands: list[tuple[int, bytes]]):
    fake, _ = _joined()
    for n, (frame_id, params) in enumerate(commands):
        ezsp = bytes((n & 0xFF, 0x00, 0x01)) + frame_id.to_bytes(2, "little") + params
        out = fake.receive(AshFrame(Kind.DATA, n & 7, fake.ash.tx_seq, data=ezsp).encode(), 10.0 + n)
        answers = [f for f in (AshFrame.decode(r) for r in AshReader().feed(out.wire()) if isinstance(r, bytes))
                   if f.kind is Kind.DATA]
        assert answers and answers[0].data[0] == n & 0xFF  # answered: the response, or invalidCommand naming the fault
