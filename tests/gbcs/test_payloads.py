"""Payload codecs (DLMS, GBZ, ASN.1) against every RTDS payload, plus round trips and fuzzing."""

from __future__ import annotations

import collections
import contextlib

from hypothesis import given
from hypothesis import strategies as st

from emulator.gbcs import asn1, dlms, frames, gbz
from emulator.gbcs.errors import FrameError
from emulator.gbcs.payload import decode_payload


def test_every_rtds_payload_decodes_to_its_family_and_reencodes(rtds_messages):
    kinds: collections.Counter[str] = collections.Counter()
    for name, data in rtds_messages:
        msg = frames.decode(data)
        p = decode_payload(msg.payload, message_code=msg.message_code, cra=int(msg.cra))
        assert p.kind != "unknown", f"{name}: {p.reason}"
        parsed = p.parsed
        assert parsed.encode() == msg.payload, name
        kinds[p.kind] += 1
    assert kinds == {"dlms-access-request": 389, "gbz": 354, "dlms-access-response": 292, "asn1": 178,
                     "dlms-data-notification": 62}


def test_encrypted_parts_decrypt_with_the_reference_keys(rtds_messages, rtds_keys):
    from emulator.gbcs import security

    opened = 0
    for _, data in rtds_messages:
        msg = frames.decode(data)

        def decrypt(part: bytes, m: frames.Message = msg) -> bytes:
            return security.decrypt_part(rtds_keys, m.originator, m.target, m.counter, part)

        tree = str(decode_payload(msg.payload, message_code=msg.message_code, cra=int(msg.cra),
                                  decrypt=decrypt).to_tree())
        opened += tree.count("'plaintext'")
    assert opened >= 28


LEAF = st.one_of(
    st.just(dlms.NULL),
    st.builds(dlms.Data, st.just("double-long-unsigned"), st.integers(0, 2**32 - 1)),
    st.builds(dlms.Data, st.just("long"), st.integers(-(2**15), 2**15 - 1)),
    st.builds(dlms.Data, st.just("enum"), st.integers(0, 255)),
    st.builds(dlms.Data, st.just("boolean"), st.integers(0, 255)),
    st.builds(dlms.Data, st.just("octet-string"), st.binary(max_size=300)),
    st.builds(dlms.Data, st.just("visible-string"), st.text(alphabet=st.characters(max_codepoint=255), max_size=20)),
    st.builds(dlms.Data, st.just("long64-unsigned"), st.integers(0, 2**64 - 1)),
)
DATA = st.recursive(LEAF, lambda kids: st.builds(dlms.Data, st.sampled_from(["array", "structure"]),
                                                 st.lists(kids, max_size=5).map(tuple)), max_leaves=20)


@given(DATA)
def test_dlms_data_round_trip(d: dlms.Data) -> None:
    raw = dlms.encode_data(d)
    back, end = dlms.decode_data(raw, 0)
    assert end == len(raw) and back == d


@given(st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.integers(0, 0xFFFF), st.binary(min_size=6, max_size=6),
                          st.integers(0, 255)), max_size=4), st.lists(DATA, max_size=4), st.integers(0, 2**32 - 1))
def test_dlms_access_request_round_trip(specs: list[tuple[int, int, bytes, int]], data: list[dlms.Data],
                                        invoke: int) -> None:
    req = dlms.AccessRequest(invoke, tuple(dlms.RequestSpec(*s) for s in specs), tuple(data))
    assert dlms.decode_access_request(req.encode()) == req


@given(st.lists(st.tuples(st.sampled_from([0x0702, 0x0705, 0x0019]), st.binary(max_size=40),
                          st.sampled_from([0, 0x02, 0x10])), max_size=5))
def test_gbz_round_trip(items: list[tuple[int, bytes, int]]) -> None:
    g = gbz.GbzPayload(tuple(gbz.Component(c, b, f) for c, b, f in items))
    raw = g.encode()
    assert gbz.decode(raw).encode() == raw


@given(st.recursive(st.builds(asn1.Tlv, st.sampled_from([0x02, 0x04, 0x05, 0x18]), st.binary(max_size=140)),
                    lambda kids: st.builds(lambda k: asn1.sequence(*k), st.lists(kids, max_size=4)), max_leaves=10))
def test_asn1_round_trip(t: asn1.Tlv) -> None:
    raw = t.encode()
    assert asn1.decode(raw).encode() == raw


@given(st.binary(max_size=200))
def test_fuzz_payload_decoders(data: bytes) -> None:
    decode_payload(data)  # never raises
    for dec in (dlms.decode_access_request, dlms.decode_access_response, dlms.decode_data_notification,
                gbz.decode, asn1.decode):
        with contextlib.suppress(FrameError):
            dec(data)
