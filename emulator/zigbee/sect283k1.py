"""The Koblitz curve sect283k1 (SEC 2 v2 section 3.4.1; NIST K-283), pure Python and sans-IO.

Smart Energy 1.2 crypto suite 2 (CBKE) runs on this curve, and the installed ``cryptography``
no longer offers binary curves, so the emulator carries its own small implementation:

* field elements of GF(2^283) are Python ints whose bits are the polynomial's coefficients,
  reduced modulo f(x) = x^283 + x^12 + x^7 + x^5 + 1;
* points are affine ``(x, y)`` tuples, ``None`` is the point at infinity;
* scalar multiplication is the Lopez-Dahab x-only Montgomery ladder (Hankerson, Menezes and
  Vanstone, *Guide to Elliptic Curve Cryptography*, algorithm 3.40): projective coordinates
  so that one field inversion per multiplication suffices, the y coordinate recovered at the end.

Not constant-time and not meant to protect secrets: it runs a test PKI. A multiplication costs a
few tens of milliseconds; callers cache what they can (``emulator.pki.se_certs``).
"""

from __future__ import annotations

from emulator.zigbee.errors import ZigbeeDecodeError, ZigbeeEncodeError

M = 283
F = (1 << 283) | (1 << 12) | (1 << 7) | (1 << 5) | 1
_MASK = (1 << M) - 1
A = 0
B = 1
GX = 0x0503213F78CA44883F1A3B8162F188E553CD265F23C1567A16876913B0C2AC2458492836
GY = 0x01CCDA380F1C9E318D90F95D07E5426FE87E45C0E8184698E45962364E34116177DD2259
N = 0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE9AE2ED07577265DFF7F94451E061E163C61
H = 4
FIELD_BYTES = 36  # ceil(283 / 8)
COMPRESSED_BYTES = 1 + FIELD_BYTES

Point = tuple[int, int] | None
G: Point = (GX, GY)


class CurveError(ZigbeeDecodeError):
    """Bytes that are not a point of sect283k1 (bad prefix, length, or no such point)."""


# --- GF(2^283) ------------------------------------------------------------------------------

def _reduce(c: int) -> int:
    # x^283 = x^12 + x^7 + x^5 + 1: fold the high part down until it fits (two rounds at most).
    while c >> M:
        hi = c >> M
        c = (c & _MASK) ^ hi ^ (hi << 5) ^ (hi << 7) ^ (hi << 12)
    return c


def fmul(a: int, b: int) -> int:
    """a * b in GF(2^283): carry-less product four bits of ``b`` at a time, then reduced."""
    if a == 0 or b == 0:
        return 0
    a2 = a << 1
    a4 = a << 2
    a8 = a << 3
    table = (0, a, a2, a2 ^ a, a4, a4 ^ a, a4 ^ a2, a4 ^ a2 ^ a,
             a8, a8 ^ a, a8 ^ a2, a8 ^ a2 ^ a, a8 ^ a4, a8 ^ a4 ^ a, a8 ^ a4 ^ a2, a8 ^ a4 ^ a2 ^ a)
    r = 0
    shift = (b.bit_length() + 3) & ~3
    while shift:
        shift -= 4
        r = (r << 4) ^ table[(b >> shift) & 0xF]
    return _reduce(r)


# Squaring is linear over GF(2): it spreads the bits (b7..b0 -> 0b7 0b6 .. 0b0), byte by byte.
_SPREAD = tuple(sum(((byte >> i) & 1) << (2 * i) for i in range(8)).to_bytes(2, "big") for byte in range(256))


def fsqr(a: int) -> int:
    """a^2 in GF(2^283)."""
    raw = a.to_bytes(FIELD_BYTES, "big")
    return _reduce(int.from_bytes(b"".join([_SPREAD[byte] for byte in raw]), "big"))


def finv(a: int) -> int:
    """a^-1 in GF(2^283), by the binary extended Euclidean algorithm on polynomials."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^283)")
    u, v, g1, g2 = a, F, 1, 0
    while u != 1:
        j = u.bit_length() - v.bit_length()
        if j < 0:
            u, v, g1, g2 = v, u, g2, g1
            j = -j
        u ^= v << j
        g1 ^= g2 << j
    return _reduce(g1)


def _half_trace(c: int) -> int:
    # m is odd: z = sum of c^(2^(2i)) for i = 0..(m-1)/2 solves z^2 + z = c when Tr(c) = 0.
    z = c
    for _ in range((M - 1) // 2):
        z = fsqr(fsqr(z)) ^ c
    return z


# --- affine points -------------------------------------------------------------------------

def on_curve(p: Point) -> bool:
    """y^2 + xy = x^3 + a x^2 + b (a = 0, b = 1); the point at infinity counts."""
    if p is None:
        return True
    x, y = p
    if x >> M or y >> M:
        return False
    return fsqr(y) ^ fmul(x, y) == fmul(fsqr(x), x) ^ B


def neg(p: Point) -> Point:
    return None if p is None else (p[0], p[0] ^ p[1])


def add(p: Point, q: Point) -> Point:
    """p + q in affine coordinates (one inversion): for combining results, not for loops."""
    if p is None:
        return q
    if q is None:
        return p
    x1, y1 = p
    x2, y2 = q
    if x1 == x2:
        if y1 != y2 or x1 == 0:  # q = -p (a point with x = 0 is its own negative)
            return None
        lam = x1 ^ fmul(y1, finv(x1))
        x3 = fsqr(lam) ^ lam
        return x3, fsqr(x1) ^ fmul(lam ^ 1, x3)
    lam = fmul(y1 ^ y2, finv(x1 ^ x2))
    x3 = fsqr(lam) ^ lam ^ x1 ^ x2
    return x3, fmul(lam, x1 ^ x3) ^ x3 ^ y1


def mul(k: int, p: Point) -> Point:
    """k * p (any integer k; reduced modulo nothing, so cofactor multiples work too)."""
    if p is None or k == 0:
        return None
    if k < 0:
        return mul(-k, neg(p))
    x, y = p
    if x == 0:  # (0, 1) has order 2
        return p if k & 1 else None
    # Ladder invariant: (X1:Z1) = j*P, (X2:Z2) = (j+1)*P for the bits of k read so far.
    x1, z1 = x, 1
    x2, z2 = fsqr(fsqr(x)) ^ B, fsqr(x)
    for i in range(k.bit_length() - 2, -1, -1):
        if (k >> i) & 1:
            x1, z1, x2, z2 = *_madd(x, x1, z1, x2, z2), *_mdouble(x2, z2)
        else:
            x2, z2, x1, z1 = *_madd(x, x2, z2, x1, z1), *_mdouble(x1, z1)
    return _mxy(x, y, x1, z1, x2, z2)


def _mdouble(x: int, z: int) -> tuple[int, int]:
    x2, z2 = fsqr(x), fsqr(z)
    return fsqr(x2) ^ fsqr(z2), fmul(x2, z2)  # b = 1


def _madd(x: int, x1: int, z1: int, x2: int, z2: int) -> tuple[int, int]:
    # (X1:Z1) + (X2:Z2), knowing their difference is P = (x, y).
    t1, t2 = fmul(x1, z2), fmul(x2, z1)
    z = fsqr(t1 ^ t2)
    return fmul(x, z) ^ fmul(t1, t2), z


def _mxy(x: int, y: int, x1: int, z1: int, x2: int, z2: int) -> Point:
    if z1 == 0:
        return None
    if z2 == 0:  # (k+1)P = O, so kP = -P
        return x, x ^ y
    t3 = fmul(z1, z2)
    t4 = finv(fmul(x, t3))
    xa = fmul(x1, fmul(z2, fmul(x, t4)))  # X1/Z1
    xb = fmul(x2, fmul(z1, fmul(x, t4)))  # X2/Z2
    x_inv = fmul(t3, t4)
    ya = fmul(fmul(x ^ xa, fmul(x ^ xa, x ^ xb) ^ fsqr(x) ^ y), x_inv) ^ y
    return xa, ya


# --- encodings (SEC 1 v2 sections 2.3.3 - 2.3.8) ----------------------------------------------

def field_bytes(value: int) -> bytes:
    return value.to_bytes(FIELD_BYTES, "big")


def encode_point(p: Point) -> bytes:
    """The 37-byte compressed form: 02/03, then x (big-endian)."""
    if p is None:
        raise ZigbeeEncodeError("the point at infinity has no compressed form", field="point")
    x, y = p
    ybit = 0 if x == 0 else fmul(y, finv(x)) & 1
    return bytes((2 | ybit,)) + field_bytes(x)


def decode_point(data: bytes, field: str = "point") -> tuple[int, int]:
    """A compressed point, checked to lie on the curve; :class:`CurveError` names what was wrong."""
    if len(data) != COMPRESSED_BYTES:
        raise CurveError(f"a compressed sect283k1 point is {COMPRESSED_BYTES} bytes, got {len(data)}", field=field)
    if data[0] not in (2, 3):
        raise CurveError(f"compressed point prefix 0x{data[0]:02X} is not 02 or 03", field=field, offset=0)
    x = int.from_bytes(data[1:], "big")
    if x >> M:
        raise CurveError("x is not an element of GF(2^283)", field=field, offset=1)
    if x == 0:
        return 0, 1  # y = sqrt(b)
    beta = x ^ A ^ fmul(B, finv(fsqr(x)))
    z = _half_trace(beta)
    if fsqr(z) ^ z != beta:
        raise CurveError("no point of sect283k1 has this x", field=field, offset=1)
    if z & 1 != data[0] & 1:
        z ^= 1
    return x, fmul(x, z)
