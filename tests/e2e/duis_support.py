"""Test-side DUIS tools, independent of the code under test where it matters: requests are signed
and responses verified with signxml directly, following ../shared/duis/README.md (not through
emulator.dsp.xmldsig); the XSD is compiled here with lxml."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import SignatureReference, XMLSigner
from signxml.verifier import XMLVerifier

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DUIS = SHARED / "duis"
KEYS = DUIS / "keys"
SAMPLES = DUIS / "samples"
SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"sr": SR, "ds": DS}
SUPPLIER = "90B3D51F30010000"
OTHER_USER = "00DB123456780004"
ESME = "00DB1234567890A0"

needs_duis = pytest.mark.skipif(not (DUIS / "xsd" / "DUIS Schema V5.4.xsd").is_file(),
                                reason="../shared/duis is not present")


def schema() -> etree.XMLSchema:
    xsd = DUIS / "xsd"
    doc = etree.parse(str(xsd / "DUIS Schema V5.4.xsd"))
    for imp in doc.getroot().iter("{http://www.w3.org/2001/XMLSchema}import"):
        imp.set("schemaLocation", (xsd / imp.get("schemaLocation", "")).as_uri())
    return etree.XMLSchema(doc)


def counter() -> int:
    """A RequestID counter above those the world's own users have used (ms timestamps)."""
    counter.n = getattr(counter, "n", 0) + 1  # type: ignore[attr-defined]
    return int(time.time() * 1000) + 100_000 + counter.n  # type: ignore[attr-defined]


def rid(originator: str, target: str, n: int) -> str:
    def d(e: str) -> str:
        return "-".join(e[i:i + 2] for i in range(0, 16, 2))
    return f"{d(originator)}:{d(target)}:{n}"


def sample(name: str, request_id: str | None = None) -> etree._Element:
    """A DCC Boxed template with its placeholder signature removed (and a fresh RequestID)."""
    root = etree.parse(str(SAMPLES / name), etree.XMLParser(remove_blank_text=True)).getroot()
    for sig in root.findall("ds:Signature", NS):
        root.remove(sig)
    if request_id is not None:
        root.find("sr:Header/sr:RequestID", NS).text = request_id  # type: ignore[union-attr]
    return root


class _Signer(XMLSigner):
    def _build_sig(self, sig_root, references, *args, **kwargs):  # type: ignore[no-untyped-def]
        refs = [SignatureReference(URI=r.URI, c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0) for r in references]
        return super()._build_sig(sig_root, refs, *args, **kwargs)


def sign(root: etree._Element, user: str = SUPPLIER) -> bytes:
    """Sign as DCC Boxed's client tools do, with the user's ZAZ1 key (signxml, X509IssuerSerial)."""
    key = serialization.load_pem_private_key((KEYS / f"xml-sign-{user}-ds.key").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((KEYS / f"xml-sign-{user}-ds.pem").read_bytes())
    ki = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    ser = etree.SubElement(etree.SubElement(ki, f"{{{DS}}}X509Data"), f"{{{DS}}}X509IssuerSerial")
    etree.SubElement(ser, f"{{{DS}}}X509IssuerName").text = cert.issuer.rfc4514_string()
    etree.SubElement(ser, f"{{{DS}}}X509SerialNumber").text = str(cert.serial_number)
    # SignedInfo in exclusive c14n; the reference (enveloped transform only) digested over inclusive C14N 1.0,
    # XMLDSig's default there, which is what verifiers compute.
    signer = _Signer(signature_algorithm=SignatureMethod.ECDSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256,
                     c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    signed = signer.sign(root, key=key, key_info=ki, exclude_c14n_transform_element=True)  # type: ignore[arg-type]
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def dsp_cert() -> x509.Certificate:
    return x509.load_pem_x509_certificate((KEYS / "dsp-xml-sign-90B3D51F30000002-ds.pem").read_bytes())


def check_dsp_reply(raw: bytes, xsd: etree.XMLSchema) -> etree._Element:
    """XSD-valid and signed with the DSP's key (verified by signxml alone); the root."""
    root = etree.fromstring(raw)
    assert xsd.validate(root), xsd.error_log.last_error
    XMLVerifier().verify(raw, x509_cert=dsp_cert())
    return root


def code_of(root: etree._Element) -> str:
    return str(root.findtext("sr:Header/sr:ResponseCode", namespaces=NS))


@dataclass
class Endpoint:
    """A user's response endpoint: records every POST, answers ``statuses`` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)
    attempts: int = 0
    url: str = ""

    async def handler(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts += 1
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.received.append(body)
        return web.Response(status=status)


@contextlib.asynccontextmanager
async def endpoint(statuses: list[int] | None = None) -> AsyncIterator[Endpoint]:
    ep = Endpoint(list(statuses or []))
    app = web.Application()
    app.router.add_post("/duis", ep.handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ep.url = f"http://127.0.0.1:{runner.addresses[0][1]}/duis"
    try:
        yield ep
    finally:
        await runner.cleanup()


async def until(cond: Callable[[], Any], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
