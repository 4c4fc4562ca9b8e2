"""Prepayment top-up tokens (GBCS section 14): the 20-digit UTRN a consumer enters (CS01a, CS01b).

A UTRN is a decimal PPTD followed by a check digit (GBCS 14.8: a Verhoeff scheme with its own
permutation and inverse tables). PPTD = ``BASE`` + PTUT, a 64-bit value: the high 32 bits carry
seven zero bits, bits 32-41 of the top-up counter, the value class (pennies or pounds) and the
value (13 bits); the low 32 bits are the last four bytes of a GMAC over them, keyed by the
supplier's prepayment key-agreement key and the device's key-agreement key (the command-MAC KDF
of GBCS 5.2, counter and parties as a command's). The counter's low 32 bits are zero, so the
device recovers the whole counter from the 10 bits; it takes a top-up only with a counter above
the last one it took (a UTRN is used once).

These facts were checked against the RTDS 4.5.0 reference UTRNs and keys (tests/gbcs/test_utrn.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.gbcs.errors import GbcsError
from emulator.gbcs.keys import KeyStore
from emulator.gbcs.security import KdfMode, kdf

BASE = 7394156990786306048
DIGITS = 20
MAX_VALUE = 0x1FFF
POUNDS, PENNIES = 1, 0
CURRENCY_UNITS = {PENNIES: 1_000, POUNDS: 100_000}  # meter balances are in 10^-5 pounds
_AAD_PREFIX = bytes.fromhex("110000000000")
# GBCS table 14.8a (permutation), 14.8b (multiplication: the dihedral group D5), 14.8c (inverse)
_P = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
      (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
      (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8))
_D = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
      (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
      (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
      (9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
_I = (1, 2, 6, 7, 5, 8, 3, 0, 9, 4)

# Why a UTRN is refused, and the alert the meter raises for it (alert catalogue).
NOT_AUTHENTIC, DUPLICATE = 0x8F63, 0x8F51


class UtrnError(GbcsError):
    """A UTRN the meter refuses; ``alert_code`` is the alert GBCS gives for the reason."""

    def __init__(self, message: str, alert_code: int) -> None:
        super().__init__(message)
        self.alert_code = alert_code


@dataclass(frozen=True, slots=True)
class TopUp:
    counter: int  # the whole 64-bit counter (low 32 bits zero)
    value_class: int  # PENNIES or POUNDS
    value: int
    tag: bytes  # the 4 GMAC bytes

    @property
    def amount(self) -> int:
        """The credit in meter currency units (10^-5 pounds)."""
        return self.value * CURRENCY_UNITS[self.value_class]

    @property
    def high(self) -> int:
        return ((self.counter >> 32) & 0x3FF) << 15 | self.value_class << 13 | self.value


def check_digit(digits: str) -> str:
    """The GBCS 14.8 check digit of a string of decimal digits."""
    check, k = 0, 4
    for ch in digits:
        check = _D[check][_P[k][int(ch)]]
        k = (k + 1) % 8
    return str(_I[check])


def _tag(z: bytes, supplier: bytes, device: bytes, counter: int, high: int) -> bytes:
    key = kdf(z, supplier, KdfMode.COMMAND_MAC, counter, device)
    aad = _AAD_PREFIX + supplier + device + b"\x01" + counter.to_bytes(8, "big") + high.to_bytes(4, "big")
    return AESGCM(key).encrypt(supplier + counter.to_bytes(8, "big")[4:], b"", aad)[-4:]


def _agreement(keys: KeyStore, supplier: bytes, device: bytes) -> bytes:
    """ECDH Z between the supplier's prepayment KA key and the device's KA key, whichever private
    key ``keys`` holds (the meter's, or the supplier's when making a UTRN)."""
    if keys.has(device, "ka", private=True) and keys.has(supplier, "ka-pp"):
        return keys.private(device, "ka").exchange(ec.ECDH(), keys.public(supplier, "ka-pp"))
    if keys.has(supplier, "ka-pp", private=True) and keys.has(device, "ka"):
        return keys.private(supplier, "ka-pp").exchange(ec.ECDH(), keys.public(device, "ka"))
    raise UtrnError(f"no prepayment key agreement between {supplier.hex().upper()} and {device.hex().upper()}",
                    NOT_AUTHENTIC)


def make(keys: KeyStore, supplier: bytes, device: bytes, counter: int, value: int, value_class: int = PENNIES) -> str:
    """The UTRN a supplier issues (``counter``: a multiple of 2^32, above the device's last)."""
    if not 0 <= value <= MAX_VALUE or counter & 0xFFFFFFFF or value_class not in CURRENCY_UNITS:
        raise ValueError(f"a UTRN carries a value 0-{MAX_VALUE} and a counter that is a multiple of 2^32")
    top = TopUp(counter, value_class, value, b"")
    tag = _tag(_agreement(keys, supplier, device), supplier, device, counter, top.high)
    pptd = str(BASE + (top.high << 32 | int.from_bytes(tag, "big")))
    return pptd + check_digit(pptd)


def parse(text: str) -> TopUp:
    """The fields of a UTRN, checked for form (not authenticity); raises :class:`UtrnError`."""
    if len(text) != DIGITS or not text.isdigit():
        raise UtrnError(f"a UTRN is {DIGITS} digits, got {text!r}", NOT_AUTHENTIC)
    if check_digit(text[:-1]) != text[-1]:
        raise UtrnError(f"UTRN {text}: check digit {text[-1]} is wrong", NOT_AUTHENTIC)
    ptut = int(text[:-1]) - BASE
    if not 0 <= ptut < 1 << 57:
        raise UtrnError(f"UTRN {text} is outside the token range", NOT_AUTHENTIC)
    high = ptut >> 32
    value_class = high >> 13 & 3
    if value_class not in CURRENCY_UNITS:
        raise UtrnError(f"UTRN {text}: value class {value_class} is reserved", NOT_AUTHENTIC)
    return TopUp((high >> 15 & 0x3FF) << 32, value_class, high & MAX_VALUE, (ptut & 0xFFFFFFFF).to_bytes(4, "big"))


def accept(keys: KeyStore, supplier: bytes, device: bytes, text: str, last_counter: int) -> TopUp:
    """What the meter does with an entered UTRN: the top-up to apply, or :class:`UtrnError`."""
    top = parse(text)
    if _tag(_agreement(keys, supplier, device), supplier, device, top.counter, top.high) != top.tag:
        raise UtrnError(f"UTRN {text} is not authentic for {device.hex().upper()}", NOT_AUTHENTIC)
    if top.counter <= last_counter:
        raise UtrnError(f"UTRN {text} was used already (counter {top.counter >> 32} <= {last_counter >> 32})",
                        DUPLICATE)
    return top
