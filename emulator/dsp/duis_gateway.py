"""The DSP's DUIS gateway, sans-IO: what DCC Boxed checks before a request reaches the DSP's
rules, and how the DSP's answers become signed DUIS.

In order, each refusal a DUIS code (see :mod:`emulator.dsp.duis_xml`): a safe parse (E1), the
V5.4 XSD (E1), the XMLDSig signature against the registered certificate it names (E2), the
signer being the RequestID's originator (E2), and the command variant belonging to the
endpoint (E12). The accepted request becomes a :class:`ServiceRequest` whose role is the one
the signer's certificate was registered for; everything after that is the DSP core's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from emulator.dsp.duis_xml import (
    MALFORMED,
    NSMAP,
    DuisRequest,
    DuisSchema,
    DuisXmlError,
    ResponseContent,
    decode_request,
    encode_response,
    parse,
)
from emulator.dsp.model import Device, Response, ServiceRequest
from emulator.dsp.xmldsig import TrustStore, XmlIdentity, XmlSigner
from emulator.gbcs import catalogue

#: DCC Boxed's endpoints and the command variants each takes (../shared/duis/README.md).
SERVICES: dict[str, tuple[int, ...]] = {"serviceS": (1, 2, 5, 8), "serviceT": (4,), "serviceD": (8,)}
WRONG_VARIANT = "E12"
_FUEL_ROLES = {"ESME": ("IS", "ES"), "GSME": ("GS",), "GPF": ("GS",)}
#: DUIS body content the DSP core's rules read, under the core's own key: (element, child) -> (key, value or
#: None for the child's text).
_CORE_FIELDS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("UpdatePaymentMode", "Prepayment"): ("payment_mode", "prepayment"),
    ("UpdatePaymentMode", "Credit"): ("payment_mode", "credit"),
    ("DecommissionDevice", "DeviceID"): ("device", None),
    ("ReadInventory", "DeviceID"): ("device", None),
}


def role_for(roles: tuple[str, ...], srv_roles: tuple[str, ...], device_type: str | None) -> str:
    """The role a request is sent in: one the signer's certificate is registered for, the SRV
    allows, and, for a meter, that of its fuel (a supplier registered as IS and GS)."""
    allowed = [r for r in roles if r in srv_roles]
    fuel = [r for r in allowed if r in _FUEL_ROLES.get(device_type or "", ())]
    if fuel:
        return fuel[0]
    if allowed:
        return allowed[0]
    return roles[0] if roles else ""


def core_body(req: DuisRequest, device_of: Callable[[str], Device | None]) -> dict[str, Any]:
    """The request's body as the core receives it: the DUIS tree plus the fields its rules read
    (8.2 by DeviceID reads the inventory of that device's premises)."""
    body: dict[str, Any] = dict(req.body)
    for (element, child), (key, value) in _CORE_FIELDS.items():
        if req.body_element == element and child in req.body:
            raw = req.body[child]
            body[key] = value if value is not None else str(raw).replace("-", "").upper()
    if req.body_element == "ReadInventory" and "device" in body:
        device = device_of(str(body["device"]))
        body["premises"] = device.premises if device is not None else ""
    return body


@dataclass(frozen=True, slots=True)
class Accepted:
    request: DuisRequest
    user: XmlIdentity
    service_request: ServiceRequest


def _echo(raw: bytes) -> tuple[str | None, str]:
    """RequestID and SRV of a refused document, read without resolving anything, to address the refusal."""
    try:
        root = etree.fromstring(raw, etree.XMLParser(recover=True, resolve_entities=False, no_network=True,
                                                     load_dtd=False, huge_tree=False))
    except etree.XMLSyntaxError:
        return None, ""
    if root is None:
        return None, ""
    rid = root.findtext("sr:Header/sr:RequestID", None, NSMAP)
    srv = root.findtext(".//sr:ServiceReferenceVariant", None, NSMAP)
    return (rid.strip() if rid else None), (srv.strip() if srv else "")


class DuisGateway:
    def __init__(self, schema: DuisSchema, trust: TrustStore, signer: XmlSigner) -> None:
        self.schema = schema
        self.trust = trust
        self.signer = signer
        self.non_duis_codes: dict[str, int] = {}

    def accept(self, raw: bytes, service: str, device_of: Callable[[str], Device | None],
               now: float | None = None) -> Accepted:
        """The request as the DSP core takes it, or :class:`DuisXmlError` with the DUIS code."""
        root = parse(raw)
        self.schema.check(root, "the request")
        req = decode_request(root)
        user = self.trust.verify(root, now)
        if user.eui != req.originator:
            raise DuisXmlError(f"signed by {user.eui}, but the RequestID's originator is {req.originator}",
                               "E2", req.request_id)
        variants = SERVICES.get(service, ())
        if req.command_variant not in variants:
            raise DuisXmlError(f"CommandVariant {req.command_variant} is not taken by {service} "
                               f"(it takes {', '.join(map(str, variants))})", WRONG_VARIANT, req.request_id)
        srv = catalogue.srvs().get(req.srv)
        target = device_of(req.target)
        role = role_for(user.roles, srv.roles if srv else (), target.device_type if target else None)
        signed = req.gbcs_payload.hex().upper() if req.gbcs_payload is not None else None
        sreq = ServiceRequest(req.request_id, req.srv, req.command_variant, core_body(req, device_of), role,
                              req.execution_time, signed)
        return Accepted(req, user, sreq)

    # --- answers ---------------------------------------------------------------------------------
    def sign(self, root: etree._Element) -> bytes:
        """Validate an outgoing document against the XSD, then sign it: the bytes to send.

        One exception, by design: a response code of the project's own that DUIS 5.4 does not
        define (the configurable Restricted code, E72 by default) is sent as it is, everything else
        in the document being valid; :attr:`non_duis_codes` counts them (README: DUIS codes)."""
        try:
            self.schema.check(root, "the DSP's response")
        except DuisXmlError:
            code = root.find("sr:Header/sr:ResponseCode", NSMAP)
            if code is None or code.text in (None, MALFORMED):
                raise
            probe = copy.deepcopy(root)
            probe.find("sr:Header/sr:ResponseCode", NSMAP).text = MALFORMED  # type: ignore[union-attr]
            self.schema.check(probe, "the DSP's response")  # raises unless only the code is outside DUIS 5.4
            self.non_duis_codes[code.text] = self.non_duis_codes.get(code.text, 0) + 1
        return self.signer.sign(root)

    def answer(self, response: Response, srv: str, now: float) -> bytes:
        """The synchronous answer to an accepted request: I99, a refusal, a Pre-Command or a response."""
        return self.sign(encode_response(now, response.code, srv, response.request_id, content_of(response)))

    def refusal(self, err: DuisXmlError, raw: bytes, now: float) -> bytes | None:
        """The signed DUIS refusal of a document the gateway did not accept (None if it cannot be addressed)."""
        rid, srv = _echo(raw)
        rid = err.request_id or rid
        try:
            return self.sign(encode_response(now, err.code, srv, rid))
        except DuisXmlError:
            try:  # the RequestID or SRV echoed was itself invalid: answer without them
                return self.sign(encode_response(now, err.code, srv, None))
            except DuisXmlError:
                return None


def content_of(response: Response) -> ResponseContent:
    """What a core :class:`Response` carries, as DUIS: a Pre-Command, a GBCS payload, or an inventory."""
    body = response.body
    if "precommand" in body:
        return ResponseContent(precommand=bytes.fromhex(str(body["precommand"])))
    if body.get("gbcs"):
        return ResponseContent(gbcs_payload=bytes.fromhex(str(body["gbcs"])))
    if "inventory" in body:
        return ResponseContent(inventory=[inventory_device(d) for d in body["inventory"]][:17])
    return ResponseContent()


def inventory_device(view: Mapping[str, Any]) -> dict[str, str]:
    """One DSPInventory/Device from the core's public view of a device (XSD order)."""
    eui = str(view["eui"]).upper()
    out = {"DeviceID": "-".join(eui[i:i + 2] for i in range(0, 16, 2)), "DeviceType": str(view["device_type"]),
           "DeviceStatus": str(view["status"]), "DeviceManufacturer": "smets2-emu",
           "DeviceModel": str(view["device_type"])}
    if view.get("firmware_version"):
        out["DeviceFirmwareVersion"] = str(view["firmware_version"])
    return out


