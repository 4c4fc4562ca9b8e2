"""sect283k1 (NIST K-283) arithmetic against published values: the SEC 2 v2 domain parameters
(section 3.4.1) and Wycheproof's ECDH test vectors for sect283k1 (C2SP/wycheproof,
testvectors/ecdh_sect283k1_test.json; plain ECDH, shared value = x of d * public), written here as
literal data. A scalar multiplication costs a few tenths of a second, so property tests keep
their example counts small."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.zigbee import sect283k1 as c
from emulator.zigbee.sect283k1 import CurveError

# SEC 2 v2, 3.4.1: the uncompressed generator and the order, as printed there.
SEC2_G = bytes.fromhex("04 0503213F 78CA4488 3F1A3B81 62F188E5 53CD265F 23C1567A 16876913 B0C2AC24 58492836"
                       " 01CCDA38 0F1C9E31 8D90F95D 07E5426F E87E45C0 E8184698 E4596236 4E341161 77DD2259")
SEC2_N = int("01FFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFE9AE 2ED07577 265DFF7F 94451E06 1E163C61".replace(" ", ""), 16)

# Wycheproof ecdh_sect283k1_test.json.
WP1_X = 0x01EEF8BEA17E53E591BEAC95C110187F6D7C27A40D202AC73064B4CA054AA1F51608DDD5
WP1_Y = 0x042E4525C94F62A1DDAE8097C365FC8C9FBECA85FEEA1C2713F015BD5F584A89B9E13720
WP1_COMPRESSED = bytes.fromhex("0301eef8bea17e53e591beac95c110187f6d7c27a40d202ac73064b4ca054aa1f51608ddd5")
WP1_D = 0x013826BF5645617BFBBB162685D0F52F70FCD35E660CB19E70DE811999EF28C97A9D4934
WP1_SHARED = 0x05CA68E2B421013F6083D598DF151560A45D4EC2EA3FC69ED5383653EA2397A5A627F586
WP_EDGE_X = 0x07AC7B0DD4FF55364660E60D668334D0197F46503B68594A93B9B296CAB02243E1C8E48C
WP_EDGE_Y = 0x0134FA4FB82A61E885F0FFDED9B42E7982F1CF47A9547F9501099761EF135F219FD00812
WP_EDGE = [  # tcId 3, 4, 8 and 12 (an addition-subtraction-chain edge case near n)
    (0x03, 0x0352D39A090D970E8FD6D9FEFC3B9ED9EFA00048D357BC190A1DF1B964D5A5A11922E8BD),
    (0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
     0x05056C02378CC69D5DF0DDFD19BA9766556EFD6E20EEA1FD000475817978753407307674),
    (0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE9AE2ED07577265DFF7E94451E061E163C61,
     0x0731BD9933943F61FE52ECB662C4559EF1CCEF4B9907233D8889FC6E06CCD239690AA53B),
    (0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE9AE2ED07577265DFF7F94451E061E163C23,
     0x02BCE9AD78CCF2D18C2F2CA0FBDFB591CC1B38DE210C337BD1F47F7C07ED90F54F1A450D),
]
F_POLY = (1 << 283) | (1 << 12) | (1 << 7) | (1 << 5) | 1


def _slow_mul(a: int, b: int) -> int:
    """Schoolbook GF(2^283) product, bit by bit: an independent reference for the windowed one."""
    r = 0
    for i in range(b.bit_length()):
        if b >> i & 1:
            r ^= a << i
    for i in range(r.bit_length() - 1, 282, -1):
        if r >> i & 1:
            r ^= F_POLY << (i - 283)
    return r


elements = st.integers(min_value=0, max_value=(1 << 283) - 1)


def _on_curve(x: int, y: int) -> bool:  # y^2 + xy = x^3 + 1, with the reference multiplication
    return _slow_mul(y, y) ^ _slow_mul(x, y) == _slow_mul(_slow_mul(x, x), x) ^ 1


def test_sec2_parameters():
    assert (int.from_bytes(SEC2_G[1:37], "big"), int.from_bytes(SEC2_G[37:], "big")) == (c.GX, c.GY)
    assert c.N == SEC2_N and c.H == 4 and c.F == F_POLY
    assert _on_curve(c.GX, c.GY)
    assert c.mul(c.N, c.G) is None
    assert c.mul(c.N - 1, c.G) == (c.GX, c.GX ^ c.GY)  # -G


def test_wycheproof_normal_case():
    assert _on_curve(WP1_X, WP1_Y)
    shared = c.mul(WP1_D, (WP1_X, WP1_Y))
    assert shared is not None and shared[0] == WP1_SHARED


def test_wycheproof_compressed_public_key_decodes_to_the_uncompressed_one():
    assert c.decode_point(WP1_COMPRESSED) == (WP1_X, WP1_Y)
    assert c.encode_point((WP1_X, WP1_Y)) == WP1_COMPRESSED


@pytest.mark.parametrize(("d", "shared"), WP_EDGE, ids=["tcId3", "tcId4", "tcId8", "tcId12"])
def test_wycheproof_edge_case_private_keys(d: int, shared: int):
    point = c.mul(d, (WP_EDGE_X, WP_EDGE_Y))
    assert point is not None and point[0] == shared


@given(elements, elements)
def test_field_multiplication_matches_the_schoolbook_reference(a: int, b: int):
    assert c.fmul(a, b) == _slow_mul(a, b)
    assert c.fsqr(a) == _slow_mul(a, a)


@given(elements.filter(bool))
def test_field_inverse(a: int):
    assert _slow_mul(a, c.finv(a)) == 1


@settings(max_examples=4, deadline=None)
@given(st.integers(min_value=1, max_value=SEC2_N - 1), st.integers(min_value=1, max_value=SEC2_N - 1))
def test_scalar_multiplication_is_a_group_action(j: int, k: int):
    jg, kg = c.mul(j, c.G), c.mul(k, c.G)
    assert jg is not None and _on_curve(*jg)
    assert c.add(jg, kg) == c.mul((j + k) % SEC2_N, c.G)
    assert c.decode_point(c.encode_point(jg)) == jg


@given(st.binary(min_size=0, max_size=40))
def test_point_decoder_fuzz(data: bytes):
    try:
        point = c.decode_point(data)
    except CurveError as e:
        assert e.message
    else:
        assert len(data) == 37 and _on_curve(*point) and point[0] == int.from_bytes(data[1:], "big")


def test_point_decoder_names_what_was_wrong():
    with pytest.raises(CurveError, match="37 bytes"):
        c.decode_point(WP1_COMPRESSED[:-1])
    with pytest.raises(CurveError, match="prefix 0x04"):
        c.decode_point(b"\x04" + WP1_COMPRESSED[1:])
    with pytest.raises(CurveError, match="GF"):
        c.decode_point(b"\x02" + b"\xff" * 36)
