"""The response structure a conformance run holds a device's answer to (emulator.gbcs.response_shape),
read against the RTDS 4.5.0 reference: every reference response agrees with itself and its command,
and the differences that matter (a missing field, a missing result) are named."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from emulator.gbcs import dlms, frames
from emulator.gbcs.response_shape import difference, mirror_difference, shape
from tests.conftest import RTDS, need_rtds


def _load(path: Path) -> frames.Message:
    return frames.decode(bytes.fromhex(path.read_text().strip()))


def _pairs() -> list[tuple[Path, Path]]:
    need_rtds()
    out = []
    for response in sorted((RTDS / "messages").glob("*/*_RESPONSE_GBCS.HEX")):
        command = response.with_name(response.name.replace("_RESPONSE_", "_COMMAND_"))
        if command.exists():
            out.append((command, response))
    return out


def test_every_rtds_response_decodes_and_answers_its_command_item_for_item() -> None:
    dlms_pairs = 0
    for command, response in _pairs():
        cmd, rsp = _load(command), _load(response)
        got = shape(rsp.payload)
        assert isinstance(got, tuple) and got[0] != "undecodable", f"{response.name}: {got}"
        assert difference(got, got) is None
        assert mirror_difference(rsp.payload, cmd.payload) is None, response.name
        dlms_pairs += rsp.payload[:1] == b"\xda" and cmd.payload[:1] == b"\xd9"
    assert dlms_pairs == 292  # the RTDS set's DLMS command/response pairs


def test_a_missing_field_and_a_missing_result_are_named() -> None:
    need_rtds()
    folder = RTDS / "messages" / "4.1.1_ECS17b"
    cmd = _load(folder / "ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
    ref = _load(folder / "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
    rsp = dlms.decode_access_response(ref.payload)
    short = dlms.Data("structure", rsp.data[0].value[:-1])
    fewer_fields = dlms.AccessResponse(rsp.invoke_id, (short,), rsp.results, rsp.date_time).encode()
    found = difference(shape(fewer_fields), shape(ref.payload))
    assert found is not None and found.startswith("payload.2.0.1: 1 items, the reference has 2")
    no_result = dlms.AccessResponse(rsp.invoke_id, (), (), rsp.date_time).encode()
    assert mirror_difference(no_result, cmd.payload) == (
        "payload.results: 0 result(s) [] to the command's 1 request(s) ['action']; expected one action result per "
        "request")


def test_values_are_not_structure_but_an_error_result_is() -> None:
    ok = dlms.AccessResponse(1, (dlms.Data("double-long-unsigned", 5),), ((dlms.GET, 0),)).encode()
    other = dlms.AccessResponse(9, (dlms.Data("double-long-unsigned", 77),), ((dlms.GET, 0),)).encode()
    refused = dlms.AccessResponse(1, (dlms.NULL,), ((dlms.GET, 4),)).encode()
    assert difference(shape(ok), shape(other)) is None
    assert difference(shape(refused), shape(ok)) is not None


@given(st.binary(max_size=300))
def test_shape_of_any_bytes_is_a_shape_or_undecodable_never_an_exception(data: bytes) -> None:
    got = shape(data)
    assert isinstance(got, tuple)
    assert difference(got, got) is None
