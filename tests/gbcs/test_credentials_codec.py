"""The CS02 ASN.1 codec: every RTDS CS02b command and response re-encodes byte for byte,
random structures round-trip, and random bytes are refused with a decode error, never a crash."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.gbcs import asn1, frames
from emulator.gbcs import credentials as cred
from emulator.gbcs.errors import GbcsError

MESSAGES = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "gbcs-rtds-4.5.0" / "messages"

cells = st.builds(cred.Cell, st.integers(0, 127), st.sampled_from([cred.DIGITAL_SIGNATURE, cred.KEY_AGREEMENT]),
                  st.sampled_from([cred.MANAGEMENT, cred.PREPAYMENT_TOP_UP]))
blobs = st.binary(min_size=0, max_size=40).map(lambda b: asn1.sequence(asn1.octets(b)).encode())
seqs = st.integers(0, 2**63 - 1)
specialists = st.none() | st.lists(st.tuples(st.integers(0, 3), seqs), max_size=2).map(tuple)
changes = st.builds(cred.SeqNumberChange, st.integers(0, 8), seqs, specialists)
times = st.none() | st.integers(946684800, 4102444800).map(lambda t: asn1.generalized_time(float(t)))
commands = st.builds(
    cred.UpdateSecurityCredentials, mode=st.integers(2, 9), authorising_seq=seqs,
    replacements=st.lists(st.builds(cred.Replacement, blobs, cells), max_size=3).map(tuple),
    path=st.lists(blobs, max_size=3).map(tuple), authorising_cell=st.none() | cells,
    apply_time_based_cpv=st.none() | st.integers(0, 1), new_floor=st.none() | seqs, new_specialist=specialists,
    other_changes=st.none() | st.lists(changes, max_size=3).map(tuple), execution=times)
euis = st.binary(min_size=8, max_size=8)
outcomes = st.builds(cred.ExecutionOutcome, seqs, st.integers(2, 9), st.lists(changes, max_size=3).map(tuple),
                     st.lists(st.builds(cred.ReplacementOutcome, cells, st.sampled_from([0, 5, 10, 25, 127]),
                                        euis, euis, euis, euis), max_size=4).map(tuple))


@given(commands)
def test_update_security_credentials_round_trips(cmd: cred.UpdateSecurityCredentials):
    assert cred.UpdateSecurityCredentials.decode(cmd.encode()) == cmd


@given(st.none() | outcomes)
def test_update_response_round_trips(outcome: cred.ExecutionOutcome | None):
    assert cred.decode_update_response(cred.update_response(outcome)) == outcome


@given(st.binary(max_size=200))
def test_decoders_refuse_garbage_with_a_decode_error(data: bytes):
    for decode in (cred.UpdateSecurityCredentials.decode, cred.decode_update_response,
                   cred.CredentialDetailsRequest.decode, asn1.FirmwareTransferAlert.decode):
        with contextlib.suppress(GbcsError):
            decode(data)


@given(st.binary(max_size=120).map(lambda b: b"\x30" + bytes((len(b),)) + b if len(b) < 128 else b"\x30\x00"))
def test_decoders_refuse_random_sequences_with_a_decode_error(data: bytes):
    for decode in (cred.UpdateSecurityCredentials.decode, cred.decode_update_response,
                   cred.CredentialDetailsRequest.decode):
        with contextlib.suppress(GbcsError):
            decode(data)


def test_every_rtds_cs02b_command_and_response_re_encodes_byte_for_byte():
    if not MESSAGES.is_dir():
        pytest.skip(f"reference vectors not found at {MESSAGES}")
    seen = 0
    for path in sorted(MESSAGES.glob("*CS02b*/*.HEX")):
        msg = frames.decode(bytes.fromhex(path.read_text().strip()))
        if "COMMAND" in path.name:
            assert cred.UpdateSecurityCredentials.decode(msg.payload).encode() == msg.payload, path.name
        elif "RESPONSE" in path.name:
            assert cred.update_response(cred.decode_update_response(msg.payload)) == msg.payload, path.name
        else:
            continue
        seen += 1
    assert seen == 38  # 23 commands and pre-commands, 15 responses (RTDS 4.5.0)
