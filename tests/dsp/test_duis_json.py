"""The SSI's JSON Service Requests (emulator/dsp/duis.py): every field read with the kind it needs,
a field of another kind refused with E1 naming it."""

from __future__ import annotations

import json

import pytest

from emulator.dsp.duis import DuisError, from_json, to_json
from emulator.dsp.model import Response

REQUEST = {"RequestID": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1", "CommandVariant": 1,
           "ServiceReferenceVariant": "4.1.1", "Body": {"ReadMeterBalance": {}}, "Role": "ImportSupplier"}


def test_a_request_parses_from_a_mapping_or_its_json_text():
    for doc in (REQUEST, json.dumps(REQUEST), json.dumps(REQUEST).encode()):
        req = from_json(doc)
        assert (req.request_id, req.srv, req.command_variant, req.body, req.role, req.signed_command) == (
            "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1", "4.1.1", 1, {"ReadMeterBalance": {}},
            "ImportSupplier", None)
    assert from_json({**REQUEST, "CommandVariant": "3", "SignedCommand": "DD00"}).command_variant == 3


@pytest.mark.parametrize(("field", "value", "message"), [
    ("CommandVariant", [1], "CommandVariant: must be a whole number"),
    ("CommandVariant", "one", "CommandVariant: must be a whole number"),
    ("Body", ["x"], "Body: must be an object"),
    ("SignedCommand", 5, "SignedCommand: must be a string"),
    ("RequestID", "", "RequestID: is missing"),
])
def test_a_field_of_another_kind_is_refused_with_e1_naming_it(field, value, message):
    with pytest.raises(DuisError, match=message) as caught:
        from_json({**REQUEST, field: value})
    assert caught.value.code == "E1" and caught.value.field == field


def test_a_request_that_is_not_an_object_is_refused():
    with pytest.raises(DuisError, match="request: must be a JSON object"):
        from_json("[1, 2]")


def test_a_response_as_json():
    assert to_json(Response("R:1", "I0", "", {"Balance": 12})) == {
        "RequestID": "R:1", "ResponseCode": "I0", "ResponseMessage": "", "Body": {"Balance": 12}}
