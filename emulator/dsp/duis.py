"""DUIS-like Service Requests as JSON (the SSI's convenience API), parsed into :class:`ServiceRequest`.

DUIS proper (signed XML, DCC Boxed's endpoints) is :mod:`emulator.dsp.duis_xml` and :mod:`emulator.dsp.duis_gateway`.

Errors are :class:`DuisError` with the DUIS code (E1: malformed) and the element named.
"""

from __future__ import annotations

import json
from typing import Any

from emulator.dsp.model import Response, ServiceRequest

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


def to_json(response: Response) -> dict[str, Any]:
    return {"RequestID": response.request_id, "ResponseCode": response.code, "ResponseMessage": response.message,
            "Body": response.body}
