"""Deliverable 5 (issue 11): authority on the device for security credential updates (CS02b).

Expected results are GBCS's, written here: the Transitional CoS party alone may run
supplierByTransCoS (message code 0x0107); a refused sender gets no response and the device
raises 0x8F30 "Source does not have Authority for Command"; a certificate that does not chain
to the root is answered with status 10 (noTrustAnchor, as the RTDS 6.15.1 IMMEDIATE_ERROR
response shows) and changes nothing; the cell replaced is the one the command names by
(role, key usage, cell usage), and the certificate must be of that role and key usage
(status 5 badCertificate otherwise), whatever its names say.
"""

from __future__ import annotations

import pytest

from emulator.devices.events import AlertRaised, CommandRefused
from emulator.gbcs import asn1, frames
from emulator.gbcs import credentials as cred
from emulator.gbcs.frames import Cra
from emulator.gbcs.identities import (
    ACB,
    ESME,
    NETWORK_OPERATOR,
    SECOND_SUPPLIER,
    SUPPLIER,
    TRANSITIONAL_COS,
)
from tests.devices.credential_pki import NOW, Pki, der, gbcs_out

DS, KA = cred.DIGITAL_SIGNATURE, cred.KEY_AGREEMENT
SUPPLIER_BY_TRANS_COS, SUPPLIER_BY_SUPPLIER, NO_BY_NO = 0x0107, 0x0102, 0x0103
READ_FIRMWARE = 0x0059  # ECS52, a supplier command
ECS52 = bytes.fromhex("D9200003E800010100010000000201FF020100")


def _cos(pki: Pki, counter: int, *, certs: tuple[tuple[bytes, cred.Cell], ...] | None = None,
         path: tuple[bytes, ...] | None = None, mode: int = cred.MODE_SUPPLIER_BY_TRANS_COS,
         execution: float | None = None) -> bytes:
    """A supplierByTransCoS payload giving the supplier cells to SECOND_SUPPLIER (new certificates)."""
    if certs is None:
        ds, _ = pki.party_certificate(SECOND_SUPPLIER, 2, ds=True, seed=300)
        ka, _ = pki.party_certificate(SECOND_SUPPLIER, 2, ds=False, seed=301)
        certs = ((der(ds), cred.Cell(2, DS)), (der(ka), cred.Cell(2, KA)))
    return cred.UpdateSecurityCredentials(
        mode=mode, authorising_seq=counter, authorising_cell=cred.Cell(5, DS),
        replacements=tuple(cred.Replacement(c, cell) for c, cell in certs),
        path=(der(pki.ca),) if path is None else path,
        other_changes=(cred.SeqNumberChange(2, 0, ((0, 0),)),),
        execution=asn1.generalized_time(execution) if execution is not None else None).encode()


def _run(esme, wire: bytes, now: float = NOW):  # type: ignore[no-untyped-def]
    out = esme.on_gbcs(wire, now)
    return out, gbcs_out(out.han)


def _responses(messages: list[frames.Message]) -> list[frames.Message]:
    return [m for m in messages if m.cra is Cra.RESPONSE]


def _refused_with_8f30(out, messages) -> None:  # type: ignore[no-untyped-def]
    assert not _responses(messages), "a refused command must not be answered"
    assert any(isinstance(e, CommandRefused) and e.alert_code == 0x8F30 for e in out.events)
    assert any(isinstance(e, AlertRaised) and e.alert_code == 0x8F30 for e in out.events)


def test_ic3_supplier_by_trans_cos_from_the_transitional_cos_replaces_the_supplier_cells():
    pki = Pki()
    esme = pki.esme()
    out, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, _cos(pki, 6001), 6001))
    [response] = _responses(messages)
    assert response.signature is not None  # critical: signed by the device
    outcome = cred.decode_update_response(response.payload)
    assert outcome is not None
    assert [(o.cell, o.status, o.existing_id, o.replacing_id) for o in outcome.outcomes] == [
        (cred.Cell(2, DS), 0, SUPPLIER, SECOND_SUPPLIER), (cred.Cell(2, KA), 0, SUPPLIER, SECOND_SUPPLIER)]
    assert outcome.mode == 7 and outcome.authorising_seq == 6001
    assert esme.endpoint.trust.slots["supplier"] == SECOND_SUPPLIER
    # the top-up cell was not in the command: it is untouched
    assert esme.endpoint.trust.cells[cred.Cell(2, KA, 1)] == SUPPLIER
    # the gaining supplier's new key is the one the device now checks; the losing supplier is refused
    new_ds = pki.party_certificate(SECOND_SUPPLIER, 2, ds=True, seed=300)[1]
    pki.keys.add_private(SECOND_SUPPLIER, "ds", new_ds)
    out, messages = _run(esme, pki.command(SECOND_SUPPLIER, READ_FIRMWARE, ECS52, 7000, sign=False))
    assert len(_responses(messages)) == 1
    out, messages = _run(esme, pki.command(SUPPLIER, READ_FIRMWARE, ECS52, 7001, sign=False))
    assert not _responses(messages)
    assert any(isinstance(e, CommandRefused) and "not a trusted remote party" in e.reason for e in out.events)


@pytest.mark.parametrize("sender", [NETWORK_OPERATOR, SUPPLIER, ACB], ids=["network-operator", "losing-supplier",
                                                                           "acb"])
def test_ic3_supplier_by_trans_cos_from_anyone_else_is_refused_with_8f30(sender: bytes):
    pki = Pki()
    esme = pki.esme()
    out, messages = _run(esme, pki.command(sender, SUPPLIER_BY_TRANS_COS, _cos(pki, 6001), 6001))
    _refused_with_8f30(out, messages)
    assert esme.endpoint.trust.slots["supplier"] == SUPPLIER


def test_ic3_the_gaining_supplier_cannot_install_itself():
    """Not yet trusted at all: refused as an unknown remote party (0x8F3D), unanswered."""
    pki = Pki()
    esme = pki.esme()
    out, messages = _run(esme, pki.command(SECOND_SUPPLIER, SUPPLIER_BY_TRANS_COS, _cos(pki, 6001), 6001))
    assert not _responses(messages)
    assert any(isinstance(e, AlertRaised) and e.alert_code == 0x8F3D for e in out.events)
    assert esme.endpoint.trust.slots["supplier"] == SUPPLIER


def test_dv3_a_party_may_not_replace_another_roles_cells():
    pki = Pki()
    esme = pki.esme()
    # the network operator claiming supplierBySupplier, the supplier claiming NObyNO
    out, messages = _run(esme, pki.command(NETWORK_OPERATOR, SUPPLIER_BY_SUPPLIER, _cos(pki, 10, mode=2), 10))
    _refused_with_8f30(out, messages)
    payload = cred.UpdateSecurityCredentials(3, 11, (), (der(pki.ca),), cred.Cell(3, DS), new_floor=0).encode()
    out, messages = _run(esme, pki.command(SUPPLIER, NO_BY_NO, payload, 11))
    _refused_with_8f30(out, messages)


def test_dv3_a_payload_claiming_another_mode_than_its_message_code_changes_nothing():
    pki = Pki()
    esme = pki.esme()
    # message code supplierBySupplier (from the supplier) carrying a supplierByTransCoS payload
    _, messages = _run(esme, pki.command(SUPPLIER, SUPPLIER_BY_SUPPLIER, _cos(pki, 12), 12))
    outcome = cred.decode_update_response(_responses(messages)[0].payload)
    assert outcome is not None and {o.status for o in outcome.outcomes} == {cred.OTHER_FAILURE}
    assert esme.endpoint.trust.slots["supplier"] == SUPPLIER


def test_dv3_certificate_not_chaining_to_the_root_is_refused_no_trust_anchor():
    pki = Pki()
    esme = pki.esme()
    rogue_ca = Pki(root_key=pki.ca_key)  # another hierarchy: its issuing CA is signed by no root we hold
    forged, _ = pki.party_certificate(SECOND_SUPPLIER, 2, ds=True, issuer=(rogue_ca.root_name, rogue_ca.root_key))
    self_signed, _ = pki.party_certificate(SECOND_SUPPLIER, 2, ds=False, seed=310)
    payload = _cos(pki, 20, certs=((der(forged), cred.Cell(2, DS)),), path=(der(rogue_ca.root),))
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, payload, 20))
    outcome = cred.decode_update_response(_responses(messages)[0].payload)
    assert outcome is not None and [o.status for o in outcome.outcomes] == [cred.NO_TRUST_ANCHOR]
    assert outcome.outcomes[0].replacing_id == outcome.outcomes[0].existing_id == SUPPLIER
    # a good certificate with no certification path: its issuer (Z1) is unknown to the device
    payload = _cos(pki, 21, certs=((der(self_signed), cred.Cell(2, KA)),), path=())
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, payload, 21))
    outcome = cred.decode_update_response(_responses(messages)[0].payload)
    assert outcome is not None and [o.status for o in outcome.outcomes] == [cred.NO_TRUST_ANCHOR]
    assert esme.endpoint.trust.slots["supplier"] == SUPPLIER
    assert esme.endpoint.trust.cells[cred.Cell(2, KA)] == SUPPLIER


def test_dv3_a_device_without_a_root_anchor_replaces_nothing():
    pki = Pki()
    esme = pki.esme()
    esme.endpoint.keys = pki.keys  # a store without the root certificate
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, _cos(pki, 22), 22))
    outcome = cred.decode_update_response(_responses(messages)[0].payload)
    assert outcome is not None and {o.status for o in outcome.outcomes} == {cred.NO_TRUST_ANCHOR}


def test_dv3_trust_anchor_cell_is_chosen_by_role_and_key_usage_not_by_name():
    pki = Pki()
    esme = pki.esme()
    # a key-agreement certificate aimed at the DS cell; a network operator's certificate (OU 03)
    # whose common name says SUPPLIER, aimed at the supplier's DS cell
    ka, _ = pki.party_certificate(SECOND_SUPPLIER, 2, ds=False, seed=320)
    no_named_supplier, _ = pki.party_certificate(SECOND_SUPPLIER, 3, ds=True, seed=321, cn="GITTESTSUPPLIER")
    payload = _cos(pki, 30, certs=((der(ka), cred.Cell(2, DS)), (der(no_named_supplier), cred.Cell(2, DS))))
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, payload, 30))
    outcome = cred.decode_update_response(_responses(messages)[0].payload)
    assert outcome is not None and [o.status for o in outcome.outcomes] == [cred.BAD_CERTIFICATE] * 2
    # a cell the device does not have; a role supplierByTransCoS may not touch (the network operator's)
    no_ds, _ = pki.party_certificate(SECOND_SUPPLIER, 3, ds=True, seed=322)
    payload = _cos(pki, 31, certs=((der(ka), cred.Cell(2, DS, 1)), (der(no_ds), cred.Cell(3, DS))))
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, payload, 31))
    outcome = cred.decode_update_response(_responses(messages)[0].payload)
    assert outcome is not None
    assert [o.status for o in outcome.outcomes] == [cred.TRUST_ANCHOR_NOT_FOUND, cred.OTHER_FAILURE]
    slots = esme.endpoint.trust.slots
    assert (slots["supplier"], slots["network_operator"], slots["acb"], slots["transitional_cos"]) == (
        SUPPLIER, NETWORK_OPERATOR, ACB, TRANSITIONAL_COS)
    # the right certificate for the KA cell replaces that cell only
    payload = _cos(pki, 32, certs=((der(ka), cred.Cell(2, KA)),))
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, payload, 32))
    outcome = cred.decode_update_response(_responses(messages)[0].payload)
    assert outcome is not None and [o.status for o in outcome.outcomes] == [cred.SUCCESS]
    assert esme.endpoint.trust.cells[cred.Cell(2, KA)] == SECOND_SUPPLIER
    assert esme.endpoint.trust.cells[cred.Cell(2, DS)] == SUPPLIER


def test_dv3_a_replayed_credential_update_changes_nothing():
    pki = Pki()
    esme = pki.esme()
    _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, _cos(pki, 40), 40))
    # a later command whose authorising sequence number is not above the last one
    stale = _cos(pki, 40, certs=((der(pki.party_certificate(SUPPLIER, 2, seed=330)[0]), cred.Cell(2, DS)),))
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, stale, 41))
    outcome = cred.decode_update_response(_responses(messages)[0].payload)
    assert outcome is not None and [o.status for o in outcome.outcomes] == [cred.OTHER_FAILURE]
    assert esme.endpoint.trust.slots["supplier"] == SECOND_SUPPLIER


def test_ic3_future_dated_supplier_by_trans_cos_runs_at_its_time_and_alerts_8f66():
    pki = Pki()
    esme = pki.esme()
    when = NOW + 3600
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, _cos(pki, 50, execution=when), 50))
    assert _responses(messages)[0].payload == bytes.fromhex("30020500")  # accepted, nothing yet
    assert esme.endpoint.trust.slots["supplier"] == SUPPLIER
    assert esme.get_timer() == when
    out = esme.handle_timer(when)
    [alert] = [m for m in gbcs_out(out.han) if m.cra is Cra.ALERT]
    # to the command's originator, as the RTDS 6.23 8F66 alert (to 90B3D51F30000004)
    assert alert.message_code == 0x00CB and alert.signature is not None and alert.target == TRANSITIONAL_COS
    kids = asn1.decode(alert.payload).children or ()
    assert kids[0].int() == 0x8F66 and kids[1].value == b"20260101010000Z"
    assert esme.endpoint.trust.slots["supplier"] == SECOND_SUPPLIER


def test_ic3_future_dated_update_that_fails_alerts_8f67():
    pki = Pki()
    esme = pki.esme()
    forged, _ = pki.party_certificate(SECOND_SUPPLIER, 2, ds=True, issuer=(pki.root_name, pki.ca_key))
    payload = _cos(pki, 60, certs=((der(forged), cred.Cell(2, DS)),), execution=NOW + 60)
    _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, payload, 60))
    [alert] = [m for m in gbcs_out(esme.handle_timer(NOW + 60).han) if m.cra is Cra.ALERT]
    assert asn1.decode(alert.payload).children[0].int() == 0x8F67  # type: ignore[index]
    assert esme.endpoint.trust.slots["supplier"] == SUPPLIER


def test_cancelled_future_dated_update_never_runs():
    pki = Pki()
    esme = pki.esme()
    _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, _cos(pki, 70, execution=NOW + 60), 70))
    cancel = cred.UpdateSecurityCredentials.decode(_cos(pki, 71))
    cancel_payload = cred.UpdateSecurityCredentials(
        cancel.mode, 71, cancel.replacements, cancel.path, cancel.authorising_cell,
        execution=asn1.Tlv(asn1.GENERALIZED_TIME, b"99991231235959Z")).encode()
    _, messages = _run(esme, pki.command(TRANSITIONAL_COS, SUPPLIER_BY_TRANS_COS, cancel_payload, 71))
    assert _responses(messages)[0].payload == bytes.fromhex("30020500")
    assert not [m for m in gbcs_out(esme.handle_timer(NOW + 60).han) if m.cra is Cra.ALERT]
    assert esme.endpoint.trust.slots["supplier"] == SUPPLIER
    assert esme.eui == ESME


def test_issue_credentials_then_the_new_certificate_makes_the_new_key_the_devices():
    """CS02c: a new key pair and its certification request; CS02d with a certificate for that
    key: the device signs with the new key from then on. A certificate for another key: 5."""
    from cryptography import x509 as _x509
    from cryptography.hazmat.primitives import hashes as _hashes
    from cryptography.hazmat.primitives.asymmetric import ec as _ec

    from emulator.gbcs import security
    from tests.devices.credential_pki import certificate

    pki = Pki()
    esme = pki.esme()
    _, messages = _run(esme, pki.command(SUPPLIER, 0x000A, bytes.fromhex("300403020780"), 80))
    csr = _x509.load_der_x509_csr(_responses(messages)[0].payload)
    assert csr.is_signature_valid
    new_public = csr.public_key()
    assert isinstance(new_public, _ec.EllipticCurvePublicKey)
    old_public = esme.endpoint.keys.public(ESME, "ds")
    assert new_public.public_numbers() != old_public.public_numbers()
    other = _ec.derive_private_key(4242, _ec.SECP256R1())
    wrong = certificate(_x509.Name([]), other, pki.ca_name, pki.ca_key, ds=True)
    out, messages = _run(esme, pki.command(SUPPLIER, 0x000B, der(wrong), 81))
    assert _responses(messages)[0].payload == bytes.fromhex("020105")  # wrong public key
    assert [e.alert_code for e in out.events if isinstance(e, AlertRaised)] == [0x8F4C]  # own DS replacement failed
    # a certificate for the requested key, issued by the CA
    builder = (_x509.CertificateBuilder().subject_name(_x509.Name([])).issuer_name(pki.ca_name)
               .public_key(new_public).serial_number(7).not_valid_before(wrong.not_valid_before_utc)
               .not_valid_after(wrong.not_valid_after_utc)
               .add_extension(_x509.KeyUsage(True, False, False, False, False, False, False, False, False), True))
    issued = builder.sign(pki.ca_key, _hashes.SHA256())
    out, messages = _run(esme, pki.command(SUPPLIER, 0x000B, der(issued), 82))
    [response] = _responses(messages)
    assert response.payload == bytes.fromhex("020100")
    assert [e.alert_code for e in out.events if isinstance(e, AlertRaised)] == [0x8F4D]  # own DS replaced
    verifier = pki.device_keys()
    verifier.add_public(ESME, "ds", new_public)
    security.verify_signature(verifier, response)  # signed with the new key already


def test_future_dated_load_controller_update_alerts_with_the_cs02g_message_code():
    """CS02g loadControllerBySupplier: the load controller's cells take a supplier's certificate
    (as the reference does); its future-dated outcome alert is message 0x0124, not 0x00CB."""
    pki = Pki()
    esme = pki.esme()
    ds, _ = pki.party_certificate(SUPPLIER, 2, ds=True, seed=500)
    payload = cred.UpdateSecurityCredentials(
        cred.MODE_LOAD_CONTROLLER_BY_SUPPLIER, 90, (cred.Replacement(der(ds), cred.Cell(8, DS)),), (der(pki.ca),),
        cred.Cell(2, DS), other_changes=(cred.SeqNumberChange(8, 0),),
        execution=asn1.generalized_time(NOW + 60)).encode()
    _run(esme, pki.command(SUPPLIER, 0x0126, payload, 90))
    [alert] = [m for m in gbcs_out(esme.handle_timer(NOW + 60).han) if m.cra is Cra.ALERT]
    assert alert.message_code == 0x0124 and alert.target == SUPPLIER
    assert asn1.decode(alert.payload).children[0].int() == 0x8F66  # type: ignore[index]
    assert esme.endpoint.trust.cells[cred.Cell(8, DS)] == SUPPLIER
    # and the network operator may not do it
    out, messages = _run(esme, pki.command(NETWORK_OPERATOR, 0x0126, payload, 91))
    _refused_with_8f30(out, messages)
