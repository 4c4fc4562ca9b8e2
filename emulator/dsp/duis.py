"""DUIS-like Service Requests as JSON (the SSI's convenience API), parsed into :class:`ServiceRequest`.

DUIS proper (signed XML, DCC Boxed's endpoints) is :mod:`emulator.dsp.duis_xml` and :mod:`emulator.dsp.duis_gateway`.

Errors are :class:`DuisError` with the DUIS code (E1: malformed) and the element named.
"""

from __future__ import annotations

import json

from emulator.dsp.model import Response, ServiceRequest
from emulator.zigbee.jsonvalue import Json, JsonObject

MAX_REQUEST_BYTES = 1_000_000


class DuisError(ValueError):
    def __init__(self, message: str, field: str, code: str = "E1") -> None:
        super().__init__(f"{field}: {message}")
        self.code = code
        self.field = field


def _need(d: JsonObject, key: str) -> Json:
    if key not in d or d[key] in (None, ""):
        raise DuisError("is missing", key)
    return d[key]


def from_json(request: JsonObject | str | bytes) -> ServiceRequest:
    """``{"RequestID", "CommandVariant", "ServiceReferenceVariant", "Body": {...}, "Role"?}``."""
    doc: Json
    if isinstance(request, str | bytes):
        if len(request) > MAX_REQUEST_BYTES:
            raise DuisError("request larger than 1 MB", "request")
        try:
            doc = json.loads(request)
        except ValueError as e:
            raise DuisError(f"not JSON ({e})", "request") from None
    else:
        doc = request
    if not isinstance(doc, dict):
        raise DuisError("must be a JSON object", "request")
    srv = str(_need(doc, "ServiceReferenceVariant"))
    variant = _need(doc, "CommandVariant")
    try:
        if not isinstance(variant, int | float | str):
            raise TypeError(variant)
        cv = int(variant)
    except (TypeError, ValueError):
        raise DuisError("must be a whole number", "CommandVariant") from None
    body = doc.get("Body", {})
    if not isinstance(body, dict):
        raise DuisError("must be an object", "Body")
    signed = doc.get("SignedCommand")
    if signed is not None and not isinstance(signed, str):
        raise DuisError("must be a string (the signed Pre-Command as hex)", "SignedCommand")
    return ServiceRequest(str(_need(doc, "RequestID")), srv, cv, body, str(doc.get("Role", "")),
                          signed_command=signed)


def to_json(response: Response) -> JsonObject:
    return {"RequestID": response.request_id, "ResponseCode": response.code, "ResponseMessage": response.message,
            "Body": response.body}
