"""XMLDSig for DUIS, sans-IO, on signxml (lxml): sign what is sent, verify what is received.

DCC Boxed's profile (../shared/duis/README.md): an enveloped ``ds:Signature`` as the last child
of the document, ECDSA P-256 with SHA-256 over the exclusive-c14n ``SignedInfo``, one reference
(URI "") with only the enveloped-signature transform and a SHA-256 digest, and a ``KeyInfo``
naming the certificate by ``X509IssuerSerial``. The verifier finds that certificate among the
registered ones (:class:`TrustStore`); who signed is who the certificate says (its
x500UniqueIdentifier, the user's EUI) with the roles it was registered for.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.signer import SignatureReference, XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from emulator.dsp.duis_xml import DS, SIGNATURE, DuisXmlError, to_bytes

_CONFIG = SignatureConfiguration(location="./", expect_references=1,
                                 signature_methods=frozenset({SignatureMethod.ECDSA_SHA256}),
                                 digest_algorithms=frozenset({DigestAlgorithm.SHA256}))


def eui_of(cert: x509.Certificate) -> str:
    """The EUI-64 in a DUIS XML-signing certificate's x500UniqueIdentifier (a BIT STRING's 8 bytes)."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)
    raw = attrs[0].value if attrs else b""
    if not isinstance(raw, bytes):  # text, as in this PKI's GBCS remote-party certificates: not a DUIS one
        raise ValueError("x500UniqueIdentifier is not a BIT STRING: not a DUIS XML-signing certificate")
    if len(raw) < 8:
        raise ValueError("certificate subject has no x500UniqueIdentifier holding an EUI-64")
    return raw[-8:].hex().upper()


def _name_key(name: str) -> frozenset[tuple[str, str]]:
    """``CN=Z1,OU=07`` and ``OU=07, CN=Z1`` name the same issuer."""
    parts = (p.strip().partition("=") for p in name.split(",") if p.strip())
    return frozenset((k.strip().upper(), v.strip()) for k, _, v in parts)


@dataclass(frozen=True, slots=True)
class XmlIdentity:
    """A registered XML-signing certificate: the user (EUI) it belongs to and the roles it was registered for."""

    eui: str
    roles: tuple[str, ...]
    cert: x509.Certificate

    @property
    def issuer_serial(self) -> tuple[frozenset[tuple[str, str]], int]:
        return _name_key(self.cert.issuer.rfc4514_string()), self.cert.serial_number


class TrustStore:
    """The certificates the DSP knows, by issuer and serial number."""

    def __init__(self, identities: list[XmlIdentity] | None = None) -> None:
        self._by_key: dict[tuple[frozenset[tuple[str, str]], int], XmlIdentity] = {}
        for ident in identities or []:
            self.add(ident)

    def add(self, ident: XmlIdentity) -> None:
        self._by_key[ident.issuer_serial] = ident

    def identities(self) -> list[XmlIdentity]:
        return list(self._by_key.values())

    def verify(self, root: etree._Element, now: float | None = None) -> XmlIdentity:
        """The identity whose registered certificate signed ``root``; :class:`DuisXmlError` (E2) if none
        did, or if that certificate is not valid at ``now`` (several ZAZ1 ones expired in 2025)."""
        sig = root.find(f"{{{DS}}}Signature")
        if sig is None:
            raise DuisXmlError("the request is not signed (no ds:Signature)", SIGNATURE)
        name = sig.findtext(f".//{{{DS}}}X509IssuerName")
        serial = sig.findtext(f".//{{{DS}}}X509SerialNumber")
        if not name or not serial or not serial.strip().isdigit():
            raise DuisXmlError("ds:KeyInfo does not name a certificate by X509IssuerSerial", SIGNATURE)
        ident = self._by_key.get((_name_key(name), int(serial.strip())))
        if ident is None:
            raise DuisXmlError(f"no registered certificate {name} #{serial.strip()}", SIGNATURE)
        if now is not None and not (ident.cert.not_valid_before_utc.timestamp() <= now
                                    <= ident.cert.not_valid_after_utc.timestamp()):
            cert = ident.cert
            raise DuisXmlError(f"the certificate of {ident.eui} is not valid now (valid "
                               f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})",
                               SIGNATURE)
        # The certificate's validity is judged at ``now`` (the injected clock), never the wall clock.
        config = _CONFIG if now is None else replace(
            _CONFIG, verification_time=datetime.datetime.fromtimestamp(now, datetime.UTC))
        try:
            _verify(root, ident.cert, config)
        except (InvalidSignature, InvalidInput) as first:
            try:  # DCC Boxed's clients verify after removing whitespace between elements
                _verify(strip_whitespace(root), ident.cert, config)
            except (InvalidSignature, InvalidInput):
                raise DuisXmlError(f"signature does not verify with the certificate of {ident.eui}: {first}",
                                   SIGNATURE) from None
        return ident


def _verify(root: etree._Element, cert: x509.Certificate, config: SignatureConfiguration) -> None:
    result = XMLVerifier().verify(root, x509_cert=cert, expect_config=config)
    signed = result.signed_xml if not isinstance(result, list) else None
    if signed is None or etree.QName(signed).localname != etree.QName(root).localname:
        raise InvalidInput("the signature must cover the whole document (Reference URI=\"\")")


def strip_whitespace(root: etree._Element) -> etree._Element:
    """A copy with whitespace-only text and tails between elements removed."""
    out = copy.deepcopy(root)
    for el in out.iter():
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    return out


class _DuisSigner(XMLSigner):
    """signxml's signer with the reference digested as XMLDSig defines it when the only transform is
    the enveloped one: over inclusive C14N 1.0 (what DCC Boxed's verifiers, and signxml's, compute),
    while ``SignedInfo`` stays exclusive c14n. signxml would otherwise digest with the SignedInfo's
    algorithm yet not name it; the structure is checked against DCC Boxed's own signed samples."""

    def _build_sig(self, sig_root: Any, references: list[SignatureReference], *args: Any, **kwargs: Any) -> Any:
        inclusive = [replace(r, c14n_method=r.c14n_method or CanonicalizationMethod.CANONICAL_XML_1_0)
                     for r in references]
        return super()._build_sig(sig_root, inclusive, *args, **kwargs)  # type: ignore[no-untyped-call]


class XmlSigner:
    """Signs DUIS documents with one XML-signing key (the DSP's for responses, a user's for requests)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.key, self.cert = key, cert
        self._signer = _DuisSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256,
                                 digest_algorithm=DigestAlgorithm.SHA256,
                                 c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)

    def _key_info(self) -> etree._Element:
        ki = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
        ser = etree.SubElement(etree.SubElement(ki, f"{{{DS}}}X509Data"), f"{{{DS}}}X509IssuerSerial")
        etree.SubElement(ser, f"{{{DS}}}X509IssuerName").text = self.cert.issuer.rfc4514_string()
        etree.SubElement(ser, f"{{{DS}}}X509SerialNumber").text = str(self.cert.serial_number)
        return ki

    def sign(self, root: etree._Element) -> bytes:
        """The document with its enveloped signature, serialised compactly: exactly the bytes to send."""
        unsigned = strip_whitespace(root)
        signed = self._signer.sign(unsigned, key=self.key, key_info=self._key_info(),
                                   exclude_c14n_transform_element=True)
        return to_bytes(signed)
