"""CS01a / CS01b: a UTRN sent to a meter tops it up once, as the RTDS reference meters answer; a used,
forged or malformed one is refused, filed as an event, and changes no balance (issue 11: both meters
answered these use cases without looking at the token)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.gsme import Gsme
from emulator.devices.profile import MeterProfile
from emulator.gbcs import gbz, utrn
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.keys import KeyStore
from emulator.gbcs.usecase_builders import UseCaseRequest, builders
from tests.conftest import need_rtds
from tests.gbcs.test_rtds_usecases_common import _reference
from tests.gbcs.test_rtds_usecases_esme import NOW, _esme
from tests.gbcs.test_utrn import CS01A_SUCCESS, SUPPLIER

GSME = bytes.fromhex("00DB1234567890A1")


@pytest.fixture(autouse=True)
def _reference_set() -> None:
    need_rtds()  # every test here compares with an RTDS reference message
CHF = bytes.fromhex("00DB1234567890A2")


def test_cs01a_the_reference_command_tops_up_the_reference_esme_once(rtds_keys: Any) -> None:
    esme = _esme(rtds_keys)
    cmd = _reference("2.2_CS01a", "SUCCESS")
    before = esme.cosem.account.balance
    assert esme.execute(cmd, NOW) == _reference("2.2_CS01a", "SUCCESS", "RESPONSE").payload  # action result 0
    assert esme.cosem.account.balance - before == 1_000_000  # 10 pounds, in 10^-5 pounds
    again = esme.execute(cmd, NOW)  # the same UTRN a second time: refused, as the reference's ERROR answer
    assert again == _reference("2.2_CS01a", "ERROR", "RESPONSE").payload
    assert esme.cosem.account.balance - before == 1_000_000
    assert esme.cosem.events[-1][1] == 0x8F51  # duplicate UTRN entered


def test_cs01a_a_token_failing_its_check_digit_credits_nothing(rtds_keys: Any) -> None:
    esme = _esme(rtds_keys)
    ref = _reference("2.2_CS01a", "SUCCESS")
    forged = CS01A_SUCCESS[:-1] + ("0" if CS01A_SUCCESS[-1] != "0" else "1")
    payload = builders()["CS01a"](UseCaseRequest("CS01a", ref.message_code, SUPPLIER, ref.target, ref.counter,
                                                 {"UTRN": forged}))
    answer = esme.execute(Message(Cra.COMMAND, ref.counter, SUPPLIER, ref.target, ref.message_code, payload), NOW)
    assert answer == _reference("2.2_CS01a", "ERROR", "RESPONSE").payload
    assert esme.cosem.account.balance == 0 and esme.cosem.events[-1][1] == 0x8F63


def _gsme_and_supplier() -> tuple[Gsme, KeyStore]:
    device_ka, supplier_pp = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    meter_keys, supplier_keys = KeyStore(), KeyStore()
    meter_keys.add_private(GSME, "ka", device_ka)
    meter_keys.add_public(SUPPLIER, "ka-pp", supplier_pp.public_key())
    supplier_keys.add_private(SUPPLIER, "ka-pp", supplier_pp)
    supplier_keys.add_public(GSME, "ka", device_ka.public_key())
    gsme = Gsme(GSME, GbcsEndpoint(GSME, meter_keys), CHF, MeterProfile(image_type=2), NOW - 86400)
    return gsme, supplier_keys


def _cs01b(gsme: Gsme, text: str) -> bytes:
    ref = _reference("2.2_CS01b", "SUCCESS")
    payload = builders()["CS01b"](UseCaseRequest("CS01b", ref.message_code, SUPPLIER, GSME, ref.counter,
                                                 {"UTRN": text}))
    answer = gsme.execute(Message(Cra.COMMAND, ref.counter, SUPPLIER, GSME, ref.message_code, payload), NOW)
    return gbz.decode(answer).components[0].zcl().payload


def test_cs01b_the_gsme_answers_a_top_up_as_the_reference_gsme() -> None:
    gsme, supplier = _gsme_and_supplier()
    credit = gsme.state.credit_remaining
    text = utrn.make(supplier, SUPPLIER, GSME, 6 << 32, 1250)  # the reference's token: counter 6, 1250 pennies
    got = _cs01b(gsme, text)
    ref = gbz.decode(_reference("2.2_CS01b", "SUCCESS", "RESPONSE").payload).components[0].zcl().payload
    # accepted (00), top-up value 1,250,000 (D0121300), source 00: as the reference; then the credit left
    assert got[:6] == ref[:6] == bytes.fromhex("00D012130000")
    assert int.from_bytes(got[6:10], "little", signed=True) == credit + 1_250_000 == gsme.state.credit_remaining


def test_cs01b_the_reference_error_token_is_refused_as_the_reference_answers() -> None:
    gsme, _ = _gsme_and_supplier()
    ref = gbz.decode(_reference("2.2_CS01b", "ERROR", "RESPONSE").payload).components[0].zcl().payload
    assert _cs01b(gsme, "12345678910121314156") == ref == bytes.fromhex("01FFFFFFFF00FFFFFFFF")
    assert [code for _, code, _, _ in gsme.state.event_log] == [0x8F63]


def test_cs01b_a_utrn_is_taken_once_and_an_older_one_never() -> None:
    gsme, supplier = _gsme_and_supplier()
    assert _cs01b(gsme, utrn.make(supplier, SUPPLIER, GSME, 7 << 32, 100))[0] == 0
    credit = gsme.state.credit_remaining
    assert _cs01b(gsme, utrn.make(supplier, SUPPLIER, GSME, 7 << 32, 100))[0] == 2  # duplicate
    assert _cs01b(gsme, utrn.make(supplier, SUPPLIER, GSME, 6 << 32, 100))[0] == 2  # older counter
    assert gsme.state.credit_remaining == credit


def test_gcs15e_the_top_up_log_lists_the_top_ups_taken_newest_first_as_the_reference() -> None:
    from tests.gbcs.test_rtds_usecases_gas import _reference as gas_reference
    from tests.gbcs.test_rtds_usecases_gas import _shape

    gsme, supplier = _gsme_and_supplier()
    first, second = (utrn.make(supplier, SUPPLIER, GSME, n << 32, 500) for n in (1, 2))
    assert _cs01b(gsme, first)[0] == 0 and _cs01b(gsme, second)[0] == 0
    ref_cmd = gas_reference("4.4.5_GCS15e", "GCS15e_4.4.5_SUCCESS")
    ref_rsp = gas_reference("4.4.5_GCS15e", "GCS15e_4.4.5_SUCCESS", "RESPONSE")
    payload = builders()["GCS15e"](UseCaseRequest("GCS15e", ref_cmd.message_code, SUPPLIER, GSME, 2000,
                                                   {"ReadLogPeriod": {"EndDateTime": "2030-01-01T00:00:00Z"}}))
    answer = gsme.execute(Message(Cra.COMMAND, 2000, SUPPLIER, GSME, ref_cmd.message_code, payload), NOW)
    assert _shape(answer) == _shape(ref_rsp.payload)
    records = gbz.decode(answer).components[0].zcl().payload[2:]
    # newest first: 20-digit UTRN, 500 pennies = 500,000 units, then the time it was taken
    assert records[:25] == bytes((20,)) + second.encode() + (500_000).to_bytes(4, "little")
    assert records[29:50] == bytes((20,)) + first.encode()
