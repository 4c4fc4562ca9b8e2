"""CS02b credential updates need the authorising party's signature, whoever MACs them (DV-3).

Every command reaches a device MACed with the ACB's key, so a MAC proves only that the DCC
sent it. The variants GBCS has signed (the RTDS 4.5.0 commands 0x0102 supplierBySupplier,
0x0103 networkOperatorByNetworkOperator, 0x0105 wanProviderByWanProvider, 0x0106
transCoSByTransCoS, 0x0107 supplierByTransCoS all end with a 64-byte signature) were executed
unsigned, so the DCC alone could replace a supplier's or network operator's trust anchor. The
attacks below are written as an attacker would send them; the expected outcomes are GBCS's,
as literal data: a missing or bad signature is 0x8F3D "Trusted Source Authentication Failure",
a signer without authority over the cell is 0x8F30 "Source Does not have Authority for
Command" (alert_codes.csv of the shared catalogue), and a refused command is not answered.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.devices.endpoint import GbcsEndpoint, Refused, TrustAnchors
from emulator.devices.events import AlertRaised, CommandRefused
from emulator.gbcs import credentials as cred
from emulator.gbcs import frames, security
from emulator.gbcs.frames import Cra
from emulator.gbcs.identities import (
    ACB,
    NETWORK_OPERATOR,
    SECOND_SUPPLIER,
    SUPPLIER,
    TRANSITIONAL_COS,
    WAN_PROVIDER,
)
from tests.conftest import RTDS, need_rtds
from tests.devices.credential_pki import NOW, Pki, der, gbcs_out

TRUSTED_SOURCE_AUTHENTICATION_FAILURE = 0x8F3D
NO_AUTHORITY = 0x8F30
DS, KA = cred.DIGITAL_SIGNATURE, cred.KEY_AGREEMENT

# (message code, the party GBCS makes its authority): the CS02b variants whose reference
# command carries a signature.
SIGNED_VARIANTS = [(0x0102, SUPPLIER), (0x0103, NETWORK_OPERATOR), (0x0105, WAN_PROVIDER),
                   (0x0106, TRANSITIONAL_COS), (0x0107, TRANSITIONAL_COS)]


def _supplier_by_supplier(pki: Pki, seq: int) -> bytes:
    """A supplierBySupplier payload handing the supplier's DS cell to SECOND_SUPPLIER."""
    ds, _ = pki.party_certificate(SECOND_SUPPLIER, 2, ds=True, seed=400)
    return cred.UpdateSecurityCredentials(
        mode=2, authorising_seq=seq, authorising_cell=cred.Cell(2, DS),
        replacements=(cred.Replacement(der(ds), cred.Cell(2, DS)),), path=(der(pki.ca),),
        other_changes=(cred.SeqNumberChange(2, 0, ((0, 0),)),)).encode()


def _refused(esme: Any, wire: bytes, alert: int) -> None:
    out = esme.on_gbcs(wire, NOW)
    assert not [m for m in gbcs_out(out.han) if m.cra is Cra.RESPONSE], "a refused command is not answered"
    assert [e.alert_code for e in out.events if isinstance(e, CommandRefused)] == [alert]
    assert alert in [e.alert_code for e in out.events if isinstance(e, AlertRaised)]


@pytest.mark.parametrize(("code", "authority"), SIGNED_VARIANTS, ids=[f"0x{c:04X}" for c, _ in SIGNED_VARIANTS])
def test_dv3_an_unsigned_cs02b_macd_by_the_acb_is_refused_8f3d(code: int, authority: bytes) -> None:
    """The DCC's forgery: the authority named as originator, no signature, a good ACB MAC."""
    pki = Pki()
    esme = pki.esme()
    wire = pki.command(authority, code, _supplier_by_supplier(pki, 10), 10, sign=False)
    assert frames.decode(wire).mac is not None and frames.decode(wire).signature is None
    _refused(esme, wire, TRUSTED_SOURCE_AUTHENTICATION_FAILURE)
    assert esme.endpoint.trust.cells[cred.Cell(2, DS)] == SUPPLIER


def test_dv3_supplier_by_supplier_signed_by_another_party_is_refused_8f3d() -> None:
    """The supplier named as originator, the signature another supplier's: it does not verify."""
    pki = Pki()
    esme = pki.esme()
    msg = frames.Message(Cra.COMMAND, 11, SUPPLIER, esme.eui, 0x0102, _supplier_by_supplier(pki, 11),
                         mac_protected=True)
    wire = security.seal(pki.keys, security.sign(pki.keys, msg, signer=SECOND_SUPPLIER))
    _refused(esme, wire, TRUSTED_SOURCE_AUTHENTICATION_FAILURE)
    assert esme.endpoint.trust.cells[cred.Cell(2, DS)] == SUPPLIER


@pytest.mark.parametrize("signer", [ACB, NETWORK_OPERATOR], ids=["acb", "network-operator"])
def test_dv3_supplier_by_supplier_signed_by_its_originator_who_does_not_hold_the_cell_is_refused_8f30(
        signer: bytes) -> None:
    """A valid signature, but not the supplier cell's holder's (on a supplier-controlled device)."""
    pki = Pki()
    esme = pki.esme()
    _refused(esme, pki.command(signer, 0x0102, _supplier_by_supplier(pki, 12), 12), NO_AUTHORITY)
    assert esme.endpoint.trust.cells[cred.Cell(2, DS)] == SUPPLIER


def test_dv3_supplier_by_supplier_signed_by_the_supplier_is_still_executed() -> None:
    pki = Pki()
    esme = pki.esme()
    out = esme.on_gbcs(pki.command(SUPPLIER, 0x0102, _supplier_by_supplier(pki, 13), 13), NOW)
    [response] = [m for m in gbcs_out(out.han) if m.cra is Cra.RESPONSE]
    assert response.signature is not None  # answered as a critical command: signed by the device
    outcome = cred.decode_update_response(response.payload)
    assert outcome is not None and [o.status for o in outcome.outcomes] == [0]  # success
    assert esme.endpoint.trust.cells[cred.Cell(2, DS)] == SECOND_SUPPLIER


def test_dv3_acb_by_acb_stays_mac_only() -> None:
    """0x0104 (8.5 Service Opt Out): the reference command is MACed, unsigned; the ACB is its
    authority and the MAC is the ACB's, so no signature is asked for."""
    pki = Pki()
    endpoint = GbcsEndpoint(pki.esme().eui, pki.device_keys())
    msg = endpoint.accept(pki.command(ACB, 0x0104, b"\x30\x00", 14, sign=False))
    assert msg.message_code == 0x0104 and msg.signature is None


# --- the reference SRV 6.21 commands (RTDS 4.5.0): originated by the ACB, signed by the ACB ------

HANDOVERS = [
    ("6.21_CS02bSupplierBySupplierHandover/CS02bSupplierBySupplierHandover_6.21_SUCCESS_COMMAND_GBCS.HEX",
     "supplier"),
    ("6.21_CS02bNOByNOHandover/CS02bNOByNOHandover_6.21_SUCCESS_COMMAND_GBCS.HEX", "network_operator"),
]
GPF = bytes.fromhex("00DB1234567890A3")  # the reference commands' target


def _reference(name: str) -> bytes:
    need_rtds()
    return bytes.fromhex((RTDS / "messages" / name).read_text().strip())


@pytest.mark.parametrize(("name", "slot"), HANDOVERS, ids=[s for _, s in HANDOVERS])
def test_dv3_reference_handover_is_accepted_by_a_dcc_controlled_device(name: str, slot: str, rtds_keys: Any) -> None:
    """(a) The cell being handed over holds the ACB's certificate: the ACB's signature is the holder's."""
    wire = _reference(name)
    ref = frames.decode(wire)
    assert ref.originator == ACB and ref.target == GPF and ref.signature is not None
    trust = TrustAnchors()
    trust.replace(slot, ACB)
    msg = GbcsEndpoint(GPF, rtds_keys, trust).accept(wire)
    assert msg.message_code == ref.message_code


@pytest.mark.parametrize(("name", "slot"), HANDOVERS, ids=[s for _, s in HANDOVERS])
def test_dv3_reference_handover_is_refused_8f30_by_a_device_the_party_controls(name: str, slot: str,
                                                                           rtds_keys: Any) -> None:
    """(b) The cell holds the supplier's (network operator's) own certificate: the ACB has no authority."""
    with pytest.raises(Refused) as refused:
        GbcsEndpoint(GPF, rtds_keys, TrustAnchors()).accept(_reference(name))
    assert refused.value.alert_code == NO_AUTHORITY


@pytest.mark.parametrize(("name", "slot"), HANDOVERS, ids=[s for _, s in HANDOVERS])
def test_dv3_reference_handover_stripped_of_its_signature_is_refused_8f3d(name: str, slot: str,
                                                                      rtds_keys: Any) -> None:
    """The same bytes without the ACB's signature, MACed again by the ACB, even on a DCC-controlled device."""
    ref = frames.decode(_reference(name))
    stripped = security.seal(rtds_keys, ref.with_(signature=None))
    trust = TrustAnchors()
    trust.replace(slot, ACB)
    with pytest.raises(Refused) as refused:
        GbcsEndpoint(GPF, rtds_keys, trust).accept(stripped)
    assert refused.value.alert_code == TRUSTED_SOURCE_AUTHENTICATION_FAILURE


# --- the same forgery on the critical use cases the catalogue gives no type ----------------------

# (message code, use case): critical SRVs in DUIS (2.1, 6.8, 6.14.2, 7.5, 6.7, 6.24.2) whose
# reference command is "M+S/pre" (signed), but whose GBCS type the catalogue leaves blank or to
# the variant.
UNTYPED_SIGNED = [(0x001F, "ECS08"), (0x0046, "ECS30"), (0x0054, "ECS46c"), (0x0055, "ECS47"), (0x007D, "GCS24"),
                  (0x000C, "CS02e")]  # CS02e: type "Variant C&R", 6.24.2 critical, reference "M+S/pre"


@pytest.mark.parametrize(("code", "use_case"), UNTYPED_SIGNED, ids=[u for _, u in UNTYPED_SIGNED])
def test_dv3_an_unsigned_critical_command_of_no_catalogue_type_is_refused_before_it_runs(
        code: int, use_case: str) -> None:
    """The supplier named as originator, no signature, a good ACB MAC: the endpoint refuses it
    as a missing signature (0x8F3D) before any handler reads its payload."""
    pki = Pki()
    endpoint = GbcsEndpoint(pki.esme().eui, pki.device_keys())
    wire = pki.command(SUPPLIER, code, b"\x00", 15, sign=False)
    assert frames.decode(wire).mac is not None and frames.decode(wire).signature is None
    with pytest.raises(Refused) as e:
        endpoint.accept(wire)
    assert e.value.alert_code == TRUSTED_SOURCE_AUTHENTICATION_FAILURE, use_case
