"""A device response's body, its payload tree made on first use: every way a reader can look at it
gives what the eagerly built body gave (same keys, same order, same values, same JSON), and the
reads that need no tree (the GBCS hex, ``in``, ``len``: the DUIS XML answer and the core) make none."""

from __future__ import annotations

import copy
import dataclasses
import json
import operator
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.dsp import response_body
from emulator.dsp.model import Response
from emulator.dsp.response_body import ResponseBody
from emulator.gbcs.payload import decode_payload

# A DLMS Access-Response (GBCS 0xDA): invoke-id 0x20000001, no date-time, one octet-string 0102, one
# result: get, success (0).
RESPONSE = bytes.fromhex("DA" "20000001" "00" "00" "01" "09020102" "01" "0100")
TREE = {"kind": "dlms-access-response", "invoke_id": "0x20000001", "data": [{"octet-string": "0102"}],
        "results": [{"kind": "get", "result": 0}]}


def _lazy(payload: bytes = RESPONSE, code: int = 0x0059) -> ResponseBody:
    return ResponseBody.device_response("DD00", payload, code, cra=2)


def test_the_tree_read_is_the_decoded_response() -> None:
    body = _lazy()
    assert body["payload"] == TREE
    assert body == {"gbcs": "DD00", "payload": TREE}
    assert list(body) == ["gbcs", "payload"]


def _views(body: dict[str, Any]) -> list[object]:
    return [json.dumps(body), list(body), list(body.items()), list(body.values()), repr(body), dict(body),
            {**body}, body.copy(), copy.copy(body), copy.deepcopy(body), len(body), "payload" in body,
            body.get("payload"), dataclasses.asdict(Response("r", "I0", "", body))["body"]]


@given(st.binary(max_size=64), st.sampled_from([0x0059, 0x0010, 0x0084, 0x0012]))
@settings(max_examples=200, deadline=None)
def test_every_view_is_the_eager_bodys(payload: bytes, code: int) -> None:
    eager = {"gbcs": "DD00", "payload": decode_payload(payload, message_code=code, cra=2).to_tree()}
    for view, want in zip(_views(_lazy(payload, code)), _views(eager), strict=True):
        assert view == want
    assert _lazy(payload, code) == eager and eager == _lazy(payload, code)
    assert _lazy(payload, code) == _lazy(payload, code)
    assert not operator.ne(_lazy(payload, code), eager) and not operator.ne(eager, _lazy(payload, code))
    assert Response("r", "I0", "", _lazy(payload, code)) == Response("r", "I0", "", eager)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(_lazy(payload, code), protocol))
        assert back == eager and list(back) == list(eager)


def test_a_change_keeps_the_keys_in_their_order() -> None:
    body = _lazy()
    body["extra"] = 1
    assert list(body) == ["gbcs", "payload", "extra"] and body["payload"] == TREE
    other = _lazy()
    other.update(more=2)
    assert list(other.items()) == [("gbcs", "DD00"), ("payload", TREE), ("more", 2)]


def test_reads_that_need_no_tree_make_none(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[bytes] = []

    def counting(data: bytes, **kw: Any) -> Any:
        decoded.append(data)
        return decode_payload(data, **kw)

    monkeypatch.setattr(response_body, "decode_payload", counting)
    body = _lazy()
    assert body["gbcs"] == "DD00" and body.get("gbcs") == "DD00" and body.get("precommand") is None
    assert "payload" in body and "gbcs" in body and "precommand" not in body and len(body) == 2 and body
    assert decoded == []
    assert body["payload"] == TREE and body["payload"] == TREE
    assert decoded == [RESPONSE]  # once, on the first read of the tree


def test_an_empty_body_is_an_ordinary_dict() -> None:
    assert ResponseBody() == {} and len(ResponseBody()) == 0 and "payload" not in ResponseBody()
    assert ResponseBody(a=1) == {"a": 1}
