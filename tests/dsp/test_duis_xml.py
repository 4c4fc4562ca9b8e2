"""DUIS XML codec, safety and XMLDSig against DCC Boxed's own material in ../shared/duis (issue 12).

Expected values are read from the samples by eye (literals here), never from the codec."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml.verifier import XMLVerifier

from emulator.dsp.duis_gateway import role_for
from emulator.dsp.duis_xml import (
    DuisXmlError,
    build_tree,
    decode_request,
    decode_response,
    encode_response,
    parse,
    to_bytes,
    tree_of,
)
from emulator.dsp.xmldsig import TrustStore, XmlIdentity, eui_of
from emulator.transport.duis_files import load_dsp_signer, load_schema, load_signer, load_trust
from tests.e2e.duis_support import DUIS, KEYS, SAMPLES, needs_duis

pytestmark = needs_duis
SR = "http://www.dccinterface.co.uk/ServiceUserGateway"


def test_tou_tariff_template_keeps_its_nested_body():
    req = decode_request(parse((SAMPLES / "ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML").read_bytes()))
    assert (req.request_id, req.command_variant, req.service_reference, req.srv) == (
        "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1006", 4, "1.1", "1.1.1")
    assert req.body_element == "UpdateImportTariffPrimaryElement" and req.signed
    elements = req.body["ElecTariffElements"]
    assert isinstance(elements, dict) and elements["CurrencyUnits"] == "GBP"
    days = elements["SwitchingTable"]["DayProfiles"]["DayProfile"]
    assert days[0]["DayName"] == "1"
    assert days[0]["ProfileSchedule"][1] == {"StartTime": "07:00:00.00Z", "TOUTariffAction": "3"}
    assert days[1]["ProfileSchedule"][1]["StartTime"] == "23:00:00.00Z"


def test_every_sample_request_decodes_and_validates():
    schema = load_schema(DUIS / "xsd")
    for path in sorted(SAMPLES.glob("*REQUEST_DUIS.XML")):
        root = parse(path.read_bytes())
        schema.check(root)
        req = decode_request(root)
        assert req.request_id.startswith("90-B3-D5-1F-30-01-00-00:") and req.srv, path.name


def test_read_firmware_response_sample_decodes():
    rsp = decode_response(parse((SAMPLES / "readfw-response.xml").read_bytes()))
    assert (rsp.code, rsp.kind) == ("I0", "ResponseMessage")
    assert rsp.response_id == "88-73-84-57-00-2F-96-1E:90-B3-D5-1F-30-01-00-00:1660751141087"
    assert base64.b64decode(str(rsp.content["GBCSPayload"]))[:2] == bytes.fromhex("DD00")


@pytest.mark.parametrize("doc", [
    (SAMPLES / "duis-xxe.xml").read_bytes() if SAMPLES.is_dir() else b"",
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b"<a>&b;</a>",
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    .encode("utf-16"),
    b'<?xml version="1.0"?><a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd"/></a>',
])
def test_unsafe_documents_are_refused_with_e1(doc: bytes):
    try:
        root = parse(doc)
    except DuisXmlError as e:
        assert e.code == "E1"
        return
    assert b"root:" not in etree.tostring(root)  # XInclude is never processed
    with pytest.raises(DuisXmlError):
        load_schema(DUIS / "xsd").check(root)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_parse_refuses_garbage_cleanly(data: bytes):
    try:
        parse(data)
    except DuisXmlError as e:
        assert e.code == "E1"


_names = st.sampled_from(["DayName", "StartTime", "Price", "Block", "Season", "X"])
_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="<>&"), min_size=1,
                max_size=8)
_trees = st.recursive(_text, lambda kids: st.dictionaries(
    _names, st.one_of(kids, st.lists(kids, min_size=2, max_size=3)), min_size=1, max_size=4), max_leaves=12)


@given(st.dictionaries(_names, _trees, min_size=1, max_size=4))
def test_tree_round_trips_through_xml(tree: dict):  # type: ignore[type-arg]
    parent = etree.Element(f"{{{SR}}}Body")
    build_tree(parent, "Element", tree)
    again = parse(etree.tostring(parent))
    assert tree_of(again[0]) == tree


def test_dcc_boxed_signed_response_verifies_and_a_changed_byte_does_not():
    """readfw-response.xml was signed by DCC Boxed itself (its pre-1.4.1 DSP key)."""
    trust = load_trust(KEYS, {})
    raw = (SAMPLES / "readfw-response.xml").read_bytes()
    assert trust.verify(parse(raw)).eui == "90B3D51F30000002"
    changed = raw.replace(b"<sr:ResponseCode>I0<", b"<sr:ResponseCode>E1<")
    with pytest.raises(DuisXmlError) as e:
        trust.verify(parse(changed))
    assert e.value.code == "E2"


def test_signature_is_dcc_boxed_profile_and_verifies_with_signxml_alone():
    signer = load_dsp_signer(KEYS)
    raw = signer.sign(encode_response(1_700_000_000.0, "I99", "11.2",
                                      "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1"))
    XMLVerifier().verify(raw, x509_cert=signer.cert)
    root = etree.fromstring(raw)
    ds = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
    ours = [e.get("Algorithm") for e in root.iterfind(".//ds:SignedInfo//*[@Algorithm]", ds)]
    sample = etree.parse(str(SAMPLES / "readfw-response.xml")).getroot()
    assert ours == [e.get("Algorithm") for e in sample.iterfind(".//ds:SignedInfo//*[@Algorithm]", ds)]
    assert root.findtext(".//ds:X509IssuerName", namespaces=ds) == "CN=Z1,OU=07"
    assert root.findtext(".//ds:X509SerialNumber", namespaces=ds) == "167048897159233642262001557408276884033"
    assert b">\n<" not in raw.split(b"?>", 1)[1]  # compact: what is signed is what is sent


def test_unsigned_and_unknown_certificates_are_e2():
    trust = TrustStore([])
    doc = to_bytes(encode_response(0.0, "I0", "11.2", None))
    for raw in (doc, load_signer(KEYS, "90B3D51F30010000").sign(parse(doc))):
        with pytest.raises(DuisXmlError) as e:
            trust.verify(parse(raw))
        assert e.value.code == "E2"


def test_certificate_names_its_user_eui():
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((KEYS / "xml-sign-90B3D51F30020000-ds.pem").read_bytes())
    assert eui_of(cert) == "90B3D51F30020000"
    assert XmlIdentity("90B3D51F30020000", ("ED",), cert).issuer_serial[1] == 0x1ECC6ED40F92A82835DB58174B4A666D


def test_role_comes_from_the_registered_roles_and_the_target_fuel():
    assert role_for(("GS", "IS"), ("IS", "GS"), "ESME") == "IS"
    assert role_for(("GS", "IS"), ("IS", "GS"), "GSME") == "GS"
    assert role_for(("ED", "GT"), ("IS", "GS", "ED", "GT"), "ESME") == "ED"
    assert role_for(("OU",), ("IS",), "ESME") == "OU"  # not allowed: the DSP's rules refuse it (E3)


def test_load_signer_names_the_missing_file(tmp_path: Path):
    from emulator.transport.duis_files import DuisFilesError

    with pytest.raises(DuisFilesError, match="xml-sign-90B3D51F30010000-ds"):
        load_signer(tmp_path, "90B3D51F30010000")


def test_pki_init_issues_xml_signing_keys_that_sign_and_verify(tmp_path: Path):
    from emulator.pki.generate import init

    init(tmp_path, seed=7)
    trust = load_trust(tmp_path, {"90B3D51F30010000": ("IS", "GS")})
    assert {i.eui for i in trust.identities()} == {"90B3D51F30010000", "90B3D51F30020000", "90B3D51F30030000",
                                                   "90B3D51F30000002"}
    doc = encode_response(0.0, "I0", "11.2", None)
    ident = trust.verify(parse(load_signer(tmp_path, "90B3D51F30010000").sign(doc)))
    assert (ident.eui, ident.roles) == ("90B3D51F30010000", ("IS", "GS"))
    assert trust.verify(parse(load_dsp_signer(tmp_path).sign(doc))).eui == "90B3D51F30000002"


def test_expired_certificate_is_refused_e2():
    """Z1-supplier2 (90B3D51F30030000) expired on 2025-12-22: its signature no longer counts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from emulator.dsp.xmldsig import XmlSigner

    key = serialization.load_pem_private_key((KEYS / "Z1-supplier2-ds.key").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((KEYS / "Z1-supplier2-ds.pem").read_bytes())
    raw = XmlSigner(key, cert).sign(encode_response(0.0, "I0", "11.2", None))  # type: ignore[arg-type]
    trust = load_trust(KEYS, {})
    assert trust.verify(parse(raw), now=1_700_000_000.0).eui == "90B3D51F30030000"  # 2023: still valid
    with pytest.raises(DuisXmlError, match="not valid now") as e:
        trust.verify(parse(raw), now=1_767_225_600.0)  # 2026-01-01
    assert e.value.code == "E2"


def test_tariff_body_re_encodes_to_a_valid_request_with_the_same_tree():
    from emulator.dsp.duis_xml import encode_request

    req = decode_request(parse((SAMPLES / "ECS01a_1.1.1_IMMEDIATE_BLOCK_SUCCESS_REQUEST_DUIS.XML").read_bytes()))
    again = encode_request(req.request_id, req.command_variant, req.srv, req.body_element, req.body)
    load_schema(DUIS / "xsd").check(again)
    assert decode_request(again).body == req.body


def test_project_restricted_code_is_sent_though_not_in_duis_5_4_but_nothing_else_invalid_is():
    from emulator.dsp.duis_gateway import DuisGateway

    gw = DuisGateway(load_schema(DUIS / "xsd"), load_trust(KEYS, {}), load_dsp_signer(KEYS))
    rid = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:5"
    raw = gw.sign(encode_response(0.0, "E72", "4.1.1", rid))
    assert b"<sr:ResponseCode>E72</sr:ResponseCode>" in raw and gw.non_duis_codes == {"E72": 1}
    with pytest.raises(DuisXmlError):
        gw.sign(encode_response(0.0, "E72", "4.1.1", "not-a-request-id"))


_GATEWAY: list[object] = []


def _gateway() -> object:
    from emulator.dsp.duis_gateway import DuisGateway

    if not _GATEWAY:
        _GATEWAY.append(DuisGateway(load_schema(DUIS / "xsd"), load_trust(KEYS, {"90B3D51F30010000": ("IS",)}),
                                    load_dsp_signer(KEYS)))
    return _GATEWAY[0]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzz_a_changed_byte_in_a_signed_request_is_refused_or_changes_nothing_signed(data: st.DataObject):
    from emulator.dsp.duis_gateway import DuisGateway
    from emulator.dsp.duis_xml import encode_request

    gw = _gateway()
    assert isinstance(gw, DuisGateway)
    raw = load_signer(KEYS, "90B3D51F30010000").sign(encode_request(
        "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:7", 1, "11.2", "ReadFirmwareVersion", {}))
    original = gw.accept(raw, "serviceS", lambda eui: None).service_request
    i = data.draw(st.integers(0, len(raw) - 1))
    b = data.draw(st.integers(0, 255).filter(lambda v: v != raw[i]))
    changed = raw[:i] + bytes((b,)) + raw[i + 1:]
    try:
        accepted = gw.accept(changed, "serviceS", lambda eui: None)
    except DuisXmlError as e:
        assert e.code in ("E1", "E2", "E12")
        return
    assert accepted.service_request == original  # only bytes outside what is signed (e.g. the declaration)
