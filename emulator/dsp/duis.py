"""DUIS-like Service Requests as JSON and as XML, parsed into :class:`ServiceRequest`.

Errors are :class:`DuisError` with the DUIS code (E1: malformed) and the element named.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from emulator.dsp.model import Response, ServiceRequest
from emulator.gbcs import catalogue

MAX_REQUEST_BYTES = 1_000_000


class DuisError(ValueError):
    def __init__(self, message: str, field: str, code: str = "E1") -> None:
        super().__init__(f"{field}: {message}")
        self.code = code
        self.field = field


def _need(d: dict[str, Any], key: str) -> Any:
    if key not in d or d[key] in (None, ""):
        raise DuisError("is missing", key)
    return d[key]


def from_json(doc: dict[str, Any] | str | bytes) -> ServiceRequest:
    """``{"RequestID", "CommandVariant", "ServiceReferenceVariant", "Body": {...}, "Role"?}``."""
    if isinstance(doc, str | bytes):
        if len(doc) > MAX_REQUEST_BYTES:
            raise DuisError("request larger than 1 MB", "request")
        try:
            doc = json.loads(doc)
        except ValueError as e:
            raise DuisError(f"not JSON ({e})", "request") from None
    if not isinstance(doc, dict):
        raise DuisError("must be a JSON object", "request")
    srv = str(_need(doc, "ServiceReferenceVariant"))
    try:
        cv = int(_need(doc, "CommandVariant"))
    except (TypeError, ValueError):
        raise DuisError("must be a whole number", "CommandVariant") from None
    body = doc.get("Body", {})
    if not isinstance(body, dict):
        raise DuisError("must be an object", "Body")
    return ServiceRequest(str(_need(doc, "RequestID")), srv, cv, body, str(doc.get("Role", "")),
                          signed_command=doc.get("SignedCommand"))


def from_xml(text: str | bytes) -> ServiceRequest:
    """``<Request><Header>RequestID, CommandVariant, ServiceReference, ServiceReferenceVariant</Header>
    <Body><ElementForTheSRV>...</ElementForTheSRV></Body></Request>``."""
    if len(text) > MAX_REQUEST_BYTES:
        raise DuisError("request larger than 1 MB", "Request")
    raw = text.encode() if isinstance(text, str) else text
    if b"<!ENTITY" in raw:
        raise DuisError("entity declarations are not accepted", "Request")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise DuisError(f"not well-formed XML ({e})", "Request") from None
    header = root.find("Header")
    if header is None:
        raise DuisError("is missing", "Header")

    def h(name: str) -> str:
        el = header.find(name) if header is not None else None
        if el is None or not (el.text or "").strip():
            raise DuisError("is missing", f"Header/{name}")
        return (el.text or "").strip()

    srv = h("ServiceReferenceVariant")
    try:
        cv = int(h("CommandVariant"))
    except ValueError:
        raise DuisError("must be a whole number", "Header/CommandVariant") from None
    info = catalogue.srvs().get(srv)
    body_el = root.find("Body")
    body: dict[str, Any] = {}
    if body_el is not None and len(body_el):
        element = body_el[0]
        if info is not None and info.body_element and element.tag != info.body_element:
            raise DuisError(f"SRV {srv} carries <{info.body_element}>, not <{element.tag}>", f"Body/{element.tag}")
        body = {child.tag: (child.text or "").strip() for child in element}
    role_el = header.find("Role")
    signed = root.find("SignedCommand")
    return ServiceRequest(h("RequestID"), srv, cv, body, (role_el.text or "").strip() if role_el is not None else "",
                          signed_command=(signed.text or "").strip() if signed is not None else None)


def to_json(response: Response) -> dict[str, Any]:
    return {"RequestID": response.request_id, "ResponseCode": response.code, "ResponseMessage": response.message,
            "Body": response.body}


def to_xml(response: Response) -> str:
    root = ET.Element("Response")
    hdr = ET.SubElement(root, "Header")
    ET.SubElement(hdr, "RequestID").text = response.request_id
    ET.SubElement(hdr, "ResponseCode").text = response.code
    ET.SubElement(hdr, "ResponseMessage").text = response.message
    body = ET.SubElement(root, "Body")
    body.text = json.dumps(response.body) if response.body else ""
    return ET.tostring(root, encoding="unicode")
