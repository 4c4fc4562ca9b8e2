"""DUIS XML as DCC Boxed speaks it, sans-IO: bytes in, typed requests out; responses, device
alerts and DCC alerts built as elements (signed and serialised by :mod:`emulator.dsp.xmldsig`).

Parsing is safe by construction: lxml with entity resolution, DTD loading and network access
off, and any document with a DOCTYPE refused outright (XXE, billion laughs: DUIS never has one).
Every document in or out is validated against the DUIS V5.4 XSD (:class:`DuisSchema`, built by
the adapter from the schema files: the schema is reference data kept outside the package).

A request's body element is kept whole as a :data:`Tree` (local names to text, nested mappings,
or lists where an element repeats), so nested bodies such as tariffs reach the DSP intact.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from lxml import etree

from emulator.dsp.model import request_id_eui

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
DS = "http://www.w3.org/2000/09/xmldsig#"
RA = "http://www.dccinterface.co.uk/ResponseAndAlert"
NSMAP = {"sr": SR, "ds": DS, "ra": RA}
SCHEMA_VERSION = "5.4"
GBCS_VERSION = "4.0"
MAX_DOCUMENT_BYTES = 1_000_000
#: DUIS codes this gateway answers before the DSP's rules run (documented in the README).
MALFORMED = "E1"  # not well-formed, unsafe (DOCTYPE), or not valid against the XSD
SIGNATURE = "E2"  # unsigned, signature invalid, certificate unknown, or signer is not the originator

Tree: TypeAlias = "str | Mapping[str, Tree] | Sequence[Tree]"


class DuisXmlError(ValueError):
    """A document refused by the gateway: the DUIS code and what was wrong."""

    def __init__(self, message: str, code: str = MALFORMED, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


def _q(name: str, ns: str = SR) -> str:
    return f"{{{ns}}}{name}"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


# --- safe parsing and validation ---------------------------------------------------------------
def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False)


def parse(raw: bytes) -> etree._Element:
    """Parse one DUIS document; refuse anything with a DOCTYPE (entities, XXE, billion laughs)."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DuisXmlError(f"document is {len(raw)} bytes, above the {MAX_DOCUMENT_BYTES} allowed")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise DuisXmlError("a DOCTYPE or entity declaration is not accepted in DUIS")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as e:
        raise DuisXmlError(f"not well-formed XML: {e}") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:  # e.g. hidden in another encoding
        raise DuisXmlError("a DOCTYPE is not accepted in DUIS")
    return root


class DuisSchema:
    """The DUIS XSD, compiled once by the adapter (:func:`emulator.transport.duis_files.load_schema`)."""

    def __init__(self, schema: etree.XMLSchema) -> None:
        self._schema = schema

    def check(self, root: etree._Element, what: str = "document") -> None:
        if not self._schema.validate(root):
            err = self._schema.error_log.last_error
            where = f"line {err.line}: " if err is not None and err.line else ""
            raise DuisXmlError(f"{what} is not valid against the DUIS XSD: {where}"
                               f"{err.message if err is not None else 'invalid'}",
                               request_id=_text(root, "Header/sr:RequestID"))


def _text(root: etree._Element, path: str) -> str | None:
    el = root.find(f"sr:{path}" if not path.startswith("sr:") else path, NSMAP)
    return el.text.strip() if el is not None and el.text is not None else None


# --- trees ----------------------------------------------------------------------------------------
def tree_of(el: etree._Element) -> Tree:
    """An element's content: its text if it has neither children nor attributes, else local name ->
    subtree (a list if the element repeats), with attributes as ``@name`` and text beside them as ``#text``."""
    kids = [k for k in el if isinstance(k.tag, str)]
    text = (el.text or "").strip()
    if not kids and not el.attrib:
        return text
    out: dict[str, Any] = {f"@{etree.QName(k).localname}": str(v) for k, v in el.attrib.items()}
    if text and not kids:
        out["#text"] = text
    for k in kids:
        name, value = _local(k), tree_of(k)
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


def build_tree(parent: etree._Element, name: str, value: Tree) -> None:
    """Append ``value`` under ``parent`` as element(s) named ``name`` (lists repeat the element)."""
    if isinstance(value, list | tuple):
        for item in value:
            build_tree(parent, name, item)
        return
    el = etree.SubElement(parent, _q(name))
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k.startswith("@"):
                el.set(k[1:], str(v))
            elif k == "#text":
                el.text = str(v)
            else:
                build_tree(el, k, v)
    elif value != "":
        el.text = str(value)


# --- requests -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DuisRequest:
    request_id: str
    command_variant: int
    service_reference: str
    srv: str
    body_element: str
    body: Mapping[str, Tree] = field(default_factory=dict)
    execution_time: float | None = None  # ExecutionDateTime (future-dated), seconds since the epoch
    gbcs_payload: bytes | None = None  # CV 5: SignedPreCommand/GBCSPayload
    signed: bool = False

    @property
    def originator(self) -> str:
        return request_id_eui(self.request_id, 0)

    @property
    def target(self) -> str:
        return request_id_eui(self.request_id, 1)


def epoch_of(text: str) -> float:
    dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.UTC)
    return dt.timestamp()


def decode_request(root: etree._Element) -> DuisRequest:
    """A schema-valid ``sr:Request`` as a :class:`DuisRequest`."""
    if root.tag != _q("Request"):
        raise DuisXmlError(f"root element is <{_local(root)}>, not a DUIS <Request>")
    rid = _text(root, "Header/sr:RequestID") or ""
    body_el = root.find("sr:Body", NSMAP)
    element = next((k for k in body_el if isinstance(k.tag, str)), None) if body_el is not None else None
    if element is None:
        raise DuisXmlError("Body has no service element", request_id=rid)
    tree = tree_of(element)
    body: Mapping[str, Tree] = tree if isinstance(tree, Mapping) else {}
    when = element.find("sr:ExecutionDateTime", NSMAP)
    payload = element.find("sr:GBCSPayload", NSMAP) if _local(element) == "SignedPreCommand" else None
    return DuisRequest(
        rid, int(_text(root, "Header/sr:CommandVariant") or 0), _text(root, "Header/sr:ServiceReference") or "",
        _text(root, "Header/sr:ServiceReferenceVariant") or "", _local(element), body,
        epoch_of(when.text) if when is not None and when.text else None,
        base64.b64decode("".join((payload.text or "").split())) if payload is not None else None,
        root.find("ds:Signature", NSMAP) is not None)


def encode_request(request_id: str, command_variant: int, srv: str, body_element: str,
                   body: Mapping[str, Tree] | None = None, *, schema_version: str = SCHEMA_VERSION) -> etree._Element:
    """A DUIS request element (unsigned): what a head-end or the ``duis`` command sends."""
    root = etree.Element(_q("Request"), nsmap={"sr": SR}, schemaVersion=schema_version)
    hdr = etree.SubElement(root, _q("Header"))
    for name, value in (("RequestID", request_id), ("CommandVariant", str(command_variant)),
                        ("ServiceReference", service_reference_of(srv)), ("ServiceReferenceVariant", srv)):
        etree.SubElement(hdr, _q(name)).text = value
    build_tree(etree.SubElement(root, _q("Body")), body_element, dict(body or {}))
    return root


def service_reference_of(srv: str) -> str:
    """``4.1.1`` -> ``4.1``; ``11.2`` -> ``11.2`` (a Service Reference has at most two parts)."""
    return ".".join(srv.split(".")[:2])


# --- responses ------------------------------------------------------------------------------------
def iso(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _response(now: float, code: str, request_id: str | None, response_id: str | None) -> tuple[
        etree._Element, etree._Element]:
    root = etree.Element(_q("Response"), nsmap={"sr": SR}, schemaVersion=SCHEMA_VERSION)
    hdr = etree.SubElement(root, _q("Header"))
    if request_id:
        etree.SubElement(hdr, _q("RequestID")).text = request_id
    if response_id:
        etree.SubElement(hdr, _q("ResponseID")).text = response_id
    etree.SubElement(hdr, _q("ResponseCode")).text = code
    etree.SubElement(hdr, _q("ResponseDateTime")).text = iso(now)
    return root, etree.SubElement(root, _q("Body"))


def response_id_for(request_id: str) -> str:
    """DCC Boxed's ResponseID: the RequestID with originator and target swapped."""
    parts = request_id.split(":")
    return f"{parts[1]}:{parts[0]}:{parts[2]}" if len(parts) == 3 else request_id


@dataclass(frozen=True, slots=True)
class ResponseContent:
    """What a ``ResponseMessage`` carries after its ServiceReference(Variant): at most one of these."""

    gbcs_payload: bytes | None = None
    precommand: bytes | None = None
    inventory: Sequence[Mapping[str, Tree]] = ()


def encode_response(now: float, code: str, srv: str, request_id: str | None, content: ResponseContent | None = None,
                    *, response_id: str | None = None) -> etree._Element:
    """An acknowledgement (I99), a refusal, or a response (I0) with its content."""
    root, body = _response(now, code, request_id, response_id)
    msg = etree.SubElement(body, _q("ResponseMessage"))
    etree.SubElement(msg, _q("ServiceReference")).text = service_reference_of(srv) if srv else "0"
    etree.SubElement(msg, _q("ServiceReferenceVariant")).text = srv or "0"
    content = content or ResponseContent()
    if content.precommand is not None:
        pre = etree.SubElement(msg, _q("PreCommand"))
        etree.SubElement(pre, _q("GBCSVersion")).text = GBCS_VERSION
        etree.SubElement(pre, _q("GBCSPayload")).text = base64.b64encode(content.precommand).decode()
    elif content.gbcs_payload is not None:
        etree.SubElement(msg, _q("GBCSPayload")).text = base64.b64encode(content.gbcs_payload).decode()
    elif content.inventory:
        inv = etree.SubElement(msg, _q("DSPInventory"))
        for device in content.inventory:
            build_tree(inv, "Device", device)
    return root


def encode_device_alert(now: float, device: str, user: str, counter: int, alert_code: int,
                        gbcs: bytes) -> etree._Element:
    """A ``DeviceAlertMessage`` for the user (device and user EUIs in DUIS form)."""
    root, body = _response(now, "I0", None, f"{device}:{user}:{counter}")
    msg = etree.SubElement(body, _q("DeviceAlertMessage"))
    etree.SubElement(msg, _q("AlertCode")).text = f"{alert_code:04X}"
    etree.SubElement(msg, _q("GBCSPayload")).text = base64.b64encode(gbcs).decode()
    return root


def encode_dcc_alert(now: float, dcc: str, user: str, counter: int, alert_code: str,
                     alert: Mapping[str, Tree]) -> etree._Element:
    """A ``DCCAlertMessage`` from the DCC to the user: its code (``AD1``, ``N1``...) and its
    ``DCCAlert`` content (one of the XSD's choices, e.g. ``{"PowerOutageEvent": {...}}``)."""
    root, body = _response(now, "I0", None, f"{dcc}:{user}:{counter}")
    msg = etree.SubElement(body, _q("DCCAlertMessage"))
    etree.SubElement(msg, _q("DCCAlertCode")).text = alert_code
    build_tree(msg, "DCCAlert", dict(alert))
    return root


@dataclass(frozen=True, slots=True)
class DuisResponse:
    """A decoded response or alert (what a head-end, the ``duis`` command and the tests read)."""

    code: str
    request_id: str | None
    response_id: str | None
    kind: str  # ResponseMessage, DeviceAlertMessage, DCCAlertMessage
    content: Mapping[str, Tree]


def decode_response(root: etree._Element) -> DuisResponse:
    if root.tag != _q("Response"):
        raise DuisXmlError(f"root element is <{_local(root)}>, not a DUIS <Response>")
    body = root.find("sr:Body", NSMAP)
    element = next((k for k in body if isinstance(k.tag, str)), None) if body is not None else None
    tree = tree_of(element) if element is not None else {}
    return DuisResponse(_text(root, "Header/sr:ResponseCode") or "", _text(root, "Header/sr:RequestID"),
                        _text(root, "Header/sr:ResponseID"), _local(element) if element is not None else "",
                        tree if isinstance(tree, Mapping) else {})


def to_bytes(root: etree._Element) -> bytes:
    """Compact serialisation (no whitespace between elements: what is signed is what is sent)."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
