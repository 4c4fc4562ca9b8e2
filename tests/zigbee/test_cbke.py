"""CBKE (SE 1.2 crypto suite 2): the certificate layout, ECQV, ECMQV, the Key Establishment frames
and the sans-IO session in both roles, with each way a certificate or message is refused.

Expected bytes are written from the SE 1.2 annex C layouts (also what Wireshark's ZCL Key
Establishment dissector reads), never produced by the code under test.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.devices.key_establishment import ChfKeyEstablishment, KeyEstablished, KeyEstablishmentFailed
from emulator.pki.se_certs import ROGUE_CA_ISSUER, issue, se_ca, trusting
from emulator.zigbee import sect283k1 as c
from emulator.zigbee import zcl
from emulator.zigbee.cbke import CbkeCredentials, CbkeSession, Role, State
from emulator.zigbee.cbke_crypto import (
    Certificate,
    CertificateError,
    CertificateFields,
    derive_scalar,
    ecmqv,
    ecqv_issue,
    ecqv_private_key,
    ecqv_public_key,
)
from emulator.zigbee.clusters import key_establishment as ke
from emulator.zigbee.clusters.key_establishment import KeyEstablishmentStatus as Status
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.packet import CLUSTER_KEY_ESTABLISHMENT, HanPacket

CHF = bytes.fromhex("00DB1234567890A2")
ESME = bytes.fromhex("00DB1234567890A0")
SEED = 7


def _run(initiator: CbkeSession, responder: CbkeSession, now: float = 0.0) -> list[zcl.ZclCommand]:
    """Deliver every message until both are quiet; returns all that crossed, in order."""
    crossed: list[zcl.ZclCommand] = []
    pending = initiator.start(now)
    while pending:
        crossed += pending
        nxt: list[zcl.ZclCommand] = []
        for command in pending:
            to = responder if command.DIRECTION == zcl.CLIENT_TO_SERVER else initiator
            nxt += to.receive(command, now)
        pending = nxt
    return crossed


def _pair(esme: CbkeCredentials | None = None, chf: CbkeCredentials | None = None) -> tuple[CbkeSession, CbkeSession]:
    return (CbkeSession(Role.INITIATOR, esme or issue(SEED, ESME), ESME, CHF),
            CbkeSession(Role.RESPONDER, chf or issue(SEED, CHF), CHF, ESME))


# --- certificate -------------------------------------------------------------------------------

def test_certificate_layout_is_the_suite_2_one():
    cert = Certificate(serial=bytes.fromhex("0102030405060708"), issuer=b"SMETSEMU", valid_from=0x0067748580,
                       valid_to=0xFFFFFFFF, subject=ESME, reconstruction=bytes.fromhex("03") + bytes(range(36)))
    expected = bytes.fromhex(
        "00"                   # type: no extensions
        "0102030405060708"     # serial
        "0D"                   # curve sect283k1
        "08"                   # hash AES-MMO
        "534D4554 53454D55"    # issuer "SMETSEMU"
        "0067748580"           # valid from (5 bytes, big-endian)
        "FFFFFFFF"             # valid to: never expires
        "00DB1234567890A0"     # subject (EUI-64 as printed)
        "88"                   # key usage: key agreement | digital signature
        "03" + bytes(range(36)).hex())  # public-key reconstruction data (compressed point)
    assert cert.encode() == expected and len(expected) == 74
    assert Certificate.decode(expected) == cert


@pytest.mark.parametrize(("offset", "value", "field"), [(0, 0x01, "type"), (9, 0x0C, "curve"), (10, 0x07, "hash")])
def test_certificate_with_another_curve_hash_or_type_is_refused(offset: int, value: int, field: str):
    data = bytearray(issue(SEED, ESME).certificate)
    data[offset] = value
    with pytest.raises(CertificateError, match=field):
        Certificate.decode(bytes(data))


def test_certificate_of_the_wrong_length_is_refused():
    with pytest.raises(CertificateError, match="74 bytes"):
        Certificate.decode(issue(SEED, ESME).certificate[:48])  # a suite 1 length


@settings(max_examples=3, deadline=None)
@given(st.binary(min_size=8, max_size=8), st.integers(min_value=1, max_value=c.N - 1),
       st.integers(min_value=1, max_value=c.N - 1))
def test_ecqv_reconstructed_public_key_matches_the_issued_private_key(subject: bytes, request: int, nonce: int):
    ca = se_ca(SEED)
    fields = CertificateFields(b"\x00" * 8, ca.issuer, subject, 1_735_689_600)
    cert, contribution = ecqv_issue(ca.private_key, c.mul(request, c.G), nonce, fields)
    private = ecqv_private_key(cert, request, contribution)
    assert ecqv_public_key(Certificate.decode(cert.encode()), ca.public_key) == c.mul(private, c.G)


@settings(max_examples=2, deadline=None)
@given(st.binary(min_size=1, max_size=8), st.binary(min_size=1, max_size=8))
def test_ecmqv_both_sides_get_the_same_secret(label_u: bytes, label_v: bytes):
    keys = [derive_scalar(b"test", label, part) for label in (label_u, label_v) for part in (b"static", b"eph")]
    wu, ru, wv, rv = keys
    pub = [c.mul(k, c.G) for k in keys]
    z_u = ecmqv(wu, ru, pub[1], pub[2], pub[3])
    z_v = ecmqv(wv, rv, pub[3], pub[0], pub[1])
    assert z_u is not None and z_u == z_v and len(z_u) == 36


# --- frames ------------------------------------------------------------------------------------

def test_terminate_frame_bytes():
    frame = ke.TerminateKeyEstablishmentServer(Status.UNKNOWN_ISSUER, 10, ke.SUITE_2).encode(0x42)
    # ZCL: cluster-specific, server to client, no default response (0x19); seq; command 0x03;
    # status 0x01, wait 10 s, suite 0x0002 little-endian.
    assert frame == bytes.fromhex("19 42 03 01 0A 0200")
    _header, command = zcl.decode_command(CLUSTER_KEY_ESTABLISHMENT, bytes.fromhex("11 07 03 05 00 0200"))
    assert isinstance(command, ke.TerminateKeyEstablishmentClient)
    assert (command.status_code, command.wait_time, command.key_establishment_suite) == (Status.UNSUPPORTED_SUITE,
                                                                                         0, 2)


def test_initiate_request_frame_bytes():
    cert = issue(SEED, ESME).certificate
    frame = ke.InitiateKeyEstablishmentRequest(ke.SUITE_2, 10, 12, cert).encode(1)
    assert frame == bytes.fromhex("11 01 00 0200 0A 0C") + cert


def test_confirm_request_needs_exactly_a_16_byte_mac():
    with pytest.raises(ZigbeeError, match=r"secure_message_authentication_code"):
        zcl.decode_command(CLUSTER_KEY_ESTABLISHMENT, bytes.fromhex("11 01 02") + bytes(15))
    with pytest.raises(ZigbeeError, match="unexpected bytes"):
        zcl.decode_command(CLUSTER_KEY_ESTABLISHMENT, bytes.fromhex("11 01 02") + bytes(17))


commands = st.one_of(
    st.builds(ke.InitiateKeyEstablishmentRequest, st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255),
              st.binary(max_size=80)),
    st.builds(ke.InitiateKeyEstablishmentResponse, st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255),
              st.binary(max_size=80)),
    st.builds(ke.EphemeralDataRequest, st.binary(max_size=40)),
    st.builds(ke.EphemeralDataResponse, st.binary(max_size=40)),
    st.builds(ke.ConfirmKeyDataRequest, st.binary(min_size=16, max_size=16)),
    st.builds(ke.ConfirmKeyDataResponse, st.binary(min_size=16, max_size=16)),
    st.builds(ke.TerminateKeyEstablishmentClient, st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF)),
    st.builds(ke.TerminateKeyEstablishmentServer, st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF)))


@given(commands, st.integers(0, 255))
def test_frames_round_trip(command: zcl.ZclCommand, seq: int):
    header, decoded = zcl.decode_command(CLUSTER_KEY_ESTABLISHMENT, command.encode(seq))
    assert decoded == command and header.sequence == seq


@given(st.binary(max_size=100))
def test_frame_decoder_fuzz(data: bytes):
    try:
        zcl.decode_command(CLUSTER_KEY_ESTABLISHMENT, data)
    except ZigbeeError as e:
        assert e.message


@settings(max_examples=60)
@given(commands)
def test_any_command_out_of_turn_gets_a_terminate_not_an_exception(command: zcl.ZclCommand):
    session = CbkeSession(Role.RESPONDER, issue(SEED, CHF), CHF, ESME)
    out = session.receive(command, 0.0)
    assert all(isinstance(o, ke.InitiateKeyEstablishmentResponse | ke.TerminateKeyEstablishmentServer) for o in out)
    assert session.state in (State.FAILED, State.AWAIT_EPHEMERAL_REQUEST, State.IDLE)


# --- the exchange --------------------------------------------------------------------------------

def test_exchange_gives_both_sides_the_same_key_in_annex_c_order():
    initiator, responder = _pair()
    crossed = _run(initiator, responder)
    assert [type(m) for m in crossed] == [ke.InitiateKeyEstablishmentRequest, ke.InitiateKeyEstablishmentResponse,
                                          ke.EphemeralDataRequest, ke.EphemeralDataResponse,
                                          ke.ConfirmKeyDataRequest, ke.ConfirmKeyDataResponse]
    assert initiator.state is responder.state is State.ESTABLISHED
    assert initiator.link_key == responder.link_key and initiator.link_key is not None
    assert len(crossed[2].ephemeral_data) == 37 and crossed[2].ephemeral_data[0] in (2, 3)  # type: ignore[attr-defined]
    # MACU and MACV differ (02 / 03 prefixes and the swapped order).
    assert crossed[4].secure_message_authentication_code != crossed[5].secure_message_authentication_code  # type: ignore[attr-defined]


def test_same_credentials_and_attempt_give_byte_identical_frames():
    first = [m.encode(1) for m in _run(*_pair())]
    again = [m.encode(1) for m in _run(*_pair())]
    assert first == again
    other = CbkeSession(Role.INITIATOR, issue(SEED, ESME), ESME, CHF, attempt=1)
    third = [m.encode(1) for m in _run(other, CbkeSession(Role.RESPONDER, issue(SEED, CHF), CHF, ESME, attempt=1))]
    assert third[2] != first[2]  # a new attempt, a new ephemeral key


def _tampered(creds: CbkeCredentials, offset: int, xor: int = 0x01) -> CbkeCredentials:
    data = bytearray(creds.certificate)
    data[offset] ^= xor
    return CbkeCredentials(bytes(data), creds.private_key, creds.trusted_issuers)


@pytest.mark.parametrize(("credentials", "status", "sent"), [
    (lambda: trusting(issue(SEED, ESME, ROGUE_CA_ISSUER), se_ca(SEED)), Status.UNKNOWN_ISSUER, 2),
    (lambda: _tampered(issue(SEED, ESME), 1), Status.BAD_KEY_CONFIRM, 6),   # serial: the hash, so the key, moves
    (lambda: _tampered(issue(SEED, ESME), 35), Status.BAD_MESSAGE, 2),      # subject: not the sender
    (lambda: _tampered(issue(SEED, ESME), 37, 0x06), Status.BAD_MESSAGE, 2),  # reconstruction prefix 04/05
    (lambda: _tampered(issue(SEED, ESME), 36, 0x08), Status.BAD_MESSAGE, 2),  # key usage: signature only
], ids=["foreign issuer", "tampered serial", "tampered subject", "tampered reconstruction point",
        "not for key agreement"])
def test_bad_device_certificate_is_refused_by_the_chf(credentials, status: Status, sent: int):
    initiator, responder = _pair(esme=credentials())
    crossed = _run(initiator, responder)
    assert len(crossed) == sent
    last = crossed[-1]
    assert isinstance(last, ke.TerminateKeyEstablishmentServer) and last.status_code == status
    assert responder.state is State.FAILED and responder.link_key is None
    assert initiator.state is State.FAILED and initiator.failure is not None and initiator.failure.by_peer
    assert initiator.failure.status is status


def test_device_refuses_a_chf_with_a_foreign_certificate():
    rogue_chf = trusting(issue(SEED, CHF, ROGUE_CA_ISSUER), se_ca(SEED))
    initiator, responder = _pair(chf=rogue_chf)
    crossed = _run(initiator, responder)
    last = crossed[-1]
    assert isinstance(last, ke.TerminateKeyEstablishmentClient) and last.status_code == Status.UNKNOWN_ISSUER
    assert initiator.state is responder.state is State.FAILED


def test_unsupported_suite_is_refused():
    responder = CbkeSession(Role.RESPONDER, issue(SEED, CHF), CHF, ESME)
    out = responder.receive(ke.InitiateKeyEstablishmentRequest(ke.SUITE_1, 10, 10, bytes(48)), 0.0)
    assert out == [ke.TerminateKeyEstablishmentServer(Status.UNSUPPORTED_SUITE, 10, ke.SUITE_2)]


def test_bad_ephemeral_key_is_a_bad_message():
    initiator, responder = _pair()
    responder.receive(initiator.start(0.0)[0], 0.0)
    out = responder.receive(ke.EphemeralDataRequest(b"\x04" + bytes(36)), 0.0)
    assert out == [ke.TerminateKeyEstablishmentServer(Status.BAD_MESSAGE, 10, ke.SUITE_2)]


def test_duplicated_frame_is_answered_again_not_refused():
    initiator, responder = _pair()
    request = initiator.start(0.0)[0]
    first = responder.receive(request, 0.0)
    assert responder.receive(request, 0.0) == first
    assert responder.state is State.AWAIT_EPHEMERAL_REQUEST


def test_silent_peer_times_out_without_a_terminate():
    initiator, _ = _pair()
    initiator.start(100.0)
    assert initiator.deadline is not None
    initiator.handle_timer(initiator.deadline - 0.001)
    assert initiator.state is State.AWAIT_INITIATE_RESPONSE
    initiator.handle_timer(initiator.deadline)
    assert initiator.state is State.FAILED and initiator.failure is not None and initiator.failure.status is None


def _packet(src: bytes, command: zcl.ZclCommand) -> HanPacket:
    return HanPacket(src, CHF, CLUSTER_KEY_ESTABLISHMENT, command.encode(3))


def test_chf_pool_answers_no_resources_when_full():
    chf = ChfKeyEstablishment(CHF, issue(SEED, CHF), max_sessions=1)
    make = lambda dst, frame: HanPacket(CHF, dst, CLUSTER_KEY_ESTABLISHMENT, frame)  # noqa: E731
    first = ke.InitiateKeyEstablishmentRequest(ke.SUITE_2, 10, 10, issue(SEED, ESME).certificate)
    out, _ = chf.on_packet(_packet(ESME, first), first, 3, 0.0, make)
    assert out.han[0].payload[2] == 0x00  # Initiate response
    other = bytes.fromhex("00DB1234567890A1")
    second = ke.InitiateKeyEstablishmentRequest(ke.SUITE_2, 10, 10, issue(SEED, other).certificate)
    out, _ = chf.on_packet(_packet(other, second), second, 3, 0.0, make)
    assert out.han[0].payload == bytes.fromhex("19 03 03 04 0A 0200")  # Terminate: NO_RESOURCES
    # Once the first exchange times out, the pool has room again.
    out, _ = chf.on_packet(_packet(other, second), second, 3, 1000.0, make)
    assert out.han[0].payload[2] == 0x00


def test_chf_reports_success_and_failure_events():
    chf = ChfKeyEstablishment(CHF, issue(SEED, CHF))
    make = lambda dst, frame: HanPacket(CHF, dst, CLUSTER_KEY_ESTABLISHMENT, frame)  # noqa: E731
    initiator = CbkeSession(Role.INITIATOR, issue(SEED, ESME), ESME, CHF)
    pending = initiator.start(0.0)
    events = []
    established = False
    while pending:
        command = pending.pop(0)
        out, done = chf.on_packet(_packet(ESME, command), command, 3, 0.0, make)
        established |= done
        events += out.events
        for packet in out.han:
            _, reply = zcl.decode_command(CLUSTER_KEY_ESTABLISHMENT, packet.payload)
            assert isinstance(reply, zcl.ZclCommand)
            pending += initiator.receive(reply, 0.0)
    assert established and chf.link_keys[ESME] == initiator.link_key
    assert [type(e) for e in events] == [KeyEstablished]
    rogue = ke.InitiateKeyEstablishmentRequest(ke.SUITE_2, 10, 10, issue(SEED, ESME, ROGUE_CA_ISSUER).certificate)
    out, done = chf.on_packet(_packet(ESME, rogue), rogue, 4, 1.0, make)
    assert not done and not chf.established(ESME)  # a new exchange replaced the old key, and failed
    failed = out.events[0]
    assert isinstance(failed, KeyEstablishmentFailed) and failed.status == "UNKNOWN_ISSUER" and b"ROGUECA!".hex(
    ).upper() in failed.reason


def test_chf_survives_duplicated_and_repeated_initiate_requests():
    chf = ChfKeyEstablishment(CHF, issue(SEED, CHF))
    make = lambda dst, frame: HanPacket(CHF, dst, CLUSTER_KEY_ESTABLISHMENT, frame)  # noqa: E731
    initiator = CbkeSession(Role.INITIATOR, issue(SEED, ESME), ESME, CHF)
    request = initiator.start(0.0)[0]
    first, _ = chf.on_packet(_packet(ESME, request), request, 3, 0.0, make)
    again, _ = chf.on_packet(_packet(ESME, request), request, 3, 0.0, make)  # the bus duplicated it
    assert [p.payload for p in again.han] == [p.payload for p in first.han]
    _, reply = zcl.decode_command(CLUSTER_KEY_ESTABLISHMENT, first.han[0].payload)
    assert isinstance(reply, zcl.ZclCommand)
    ephemeral = initiator.receive(reply, 0.0)[0]
    _out, _ = chf.on_packet(_packet(ESME, ephemeral), ephemeral, 4, 0.0, make)
    late, _ = chf.on_packet(_packet(ESME, request), request, 3, 0.0, make)  # a late copy: ignored
    assert not late.han and chf.sessions[ESME].state is State.AWAIT_CONFIRM_REQUEST


def test_chf_gate_refuses_gbcs_clusters_until_cbke_and_after_a_leave():
    chf = ChfKeyEstablishment(CHF, issue(SEED, CHF))
    tunnel = HanPacket(ESME, CHF, 0x0704, bytes.fromhex("11 01 00 06 ffff 00 dc05"))
    basic = HanPacket(ESME, CHF, 0x0000, bytes.fromhex("00 01 00 0400"))
    refused = chf.gate(tunnel, 0.0)
    assert refused is not None and "before CBKE" in refused.events[0].reason  # type: ignore[attr-defined]
    assert chf.gate(basic, 0.0) is None  # the interview is not gated
    chf.link_keys[ESME] = bytes(16)
    assert chf.gate(tunnel, 0.0) is None
    chf.forget(ESME)
    assert chf.gate(tunnel, 0.0) is not None
