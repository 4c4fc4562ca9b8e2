"""UTRN (GBCS section 14) against the RTDS 4.5.0 reference: the CS01a/CS01b commands' UTRNs decode,
their check digits and GMACs verify with the reference keys, and the supplier side re-makes them
digit for digit. Expected values are the reference's, written out here."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.gbcs import utrn

SUPPLIER = bytes.fromhex("90B3D51F30010000")
ESME = bytes.fromhex("00DB1234567890A0")
GSME = bytes.fromhex("00DB1234567890A1")
CS01A_SUCCESS = "73946144332040217315"  # RTDS CS01a SUCCESS: counter 3, 10 pounds
CS01A_ERROR = "73948959061972833313"  # RTDS CS01a ERROR: counter 5, 10 pounds (a valid token)
CS01B_SUCCESS = "73950067887105178605"  # RTDS CS01b SUCCESS: counter 6, 1250 pennies
CS01B_ERROR = "12345678910121314156"  # RTDS CS01b ERROR: not a token


@pytest.mark.parametrize(("text", "counter", "value_class", "value", "amount"), [
    (CS01A_SUCCESS, 3, utrn.POUNDS, 10, 1_000_000),
    (CS01A_ERROR, 5, utrn.POUNDS, 10, 1_000_000),
    (CS01B_SUCCESS, 6, utrn.PENNIES, 1250, 1_250_000),  # the RTDS GSME answers a top-up of 1,250,000
])
def test_the_reference_utrns_decode(text: str, counter: int, value_class: int, value: int, amount: int) -> None:
    top = utrn.parse(text)
    assert (top.counter >> 32, top.value_class, top.value, top.amount) == (counter, value_class, value, amount)


def test_the_reference_error_utrn_fails_its_check_digit() -> None:
    with pytest.raises(utrn.UtrnError, match="check digit") as e:
        utrn.parse(CS01B_ERROR)
    assert e.value.alert_code == 0x8F63


@pytest.mark.parametrize(("text", "device"), [(CS01A_SUCCESS, ESME), (CS01A_ERROR, ESME)])
def test_the_reference_utrns_are_authentic_for_the_reference_esme(rtds_keys: Any, text: str, device: bytes) -> None:
    assert utrn.accept(rtds_keys, SUPPLIER, device, text, last_counter=0).value == 10


def test_the_supplier_side_makes_the_reference_utrn_digit_for_digit(rtds_keys: Any) -> None:
    assert utrn.make(rtds_keys, SUPPLIER, ESME, 3 << 32, 10, utrn.POUNDS) == CS01A_SUCCESS
    assert utrn.make(rtds_keys, SUPPLIER, ESME, 5 << 32, 10, utrn.POUNDS) == CS01A_ERROR


def test_a_used_or_older_utrn_is_a_duplicate(rtds_keys: Any) -> None:
    with pytest.raises(utrn.UtrnError, match="used already") as e:
        utrn.accept(rtds_keys, SUPPLIER, ESME, CS01A_SUCCESS, last_counter=3 << 32)
    assert e.value.alert_code == 0x8F51


def test_a_utrn_for_another_device_is_not_authentic(rtds_keys: Any) -> None:
    with pytest.raises(utrn.UtrnError, match="not authentic") as e:
        utrn.accept(rtds_keys, SUPPLIER, bytes.fromhex("00DB1234567890A3"), CS01A_SUCCESS, last_counter=0)
    assert e.value.alert_code == 0x8F63


@pytest.mark.parametrize(("digits", "check"), [
    ("7394614433204021731", "5"), ("7394895906197283331", "3"), ("7395006788710517860", "5")])
def test_check_digit_of_the_reference_tokens(digits: str, check: str) -> None:
    assert utrn.check_digit(digits) == check


@given(st.text(alphabet="0123456789", min_size=1, max_size=25), st.integers(0, 24), st.integers(1, 9))
def test_the_check_digit_catches_every_single_digit_error(digits: str, where: int, delta: int) -> None:
    i = where % len(digits)
    changed = digits[:i] + str((int(digits[i]) + delta) % 10) + digits[i + 1:]
    assert utrn.check_digit(changed) != utrn.check_digit(digits)


@given(st.text(max_size=30))
def test_fuzz_parse_raises_only_utrn_errors(text: str) -> None:
    try:
        utrn.parse(text)
    except utrn.UtrnError as e:
        assert str(e)
