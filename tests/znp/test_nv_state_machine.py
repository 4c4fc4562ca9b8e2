"""The fake stick's NV memory through MT, against a plain model (hypothesis state machine): what a host
writes it reads back, lengths never change on write, deletes are final, resets keep it all."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from emulator.znp import commands as mt
from emulator.znp.fake import FakeZnp

IDS = st.integers(0x0400, 0x0408)  # host-owned items, clear of what the chip itself keeps


def _do(fake: FakeZnp, name: str, **fields: Any) -> dict[str, Any]:
    out = fake.receive(mt.request(name, **fields).encode(), 0.0)
    cmd = mt.BY_NAME[name]
    frame = next(f for f in out.serial if (f.subsystem, f.command) == (int(cmd.subsystem), cmd.id))
    return mt.parse_response(name, frame)


class NvModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.fake = FakeZnp(bytes.fromhex("00124B0000000009"))
        self.model: dict[int, bytearray] = {}

    @rule(nvid=IDS, length=st.integers(1, 300), initial=st.binary(max_size=40))
    def create(self, nvid: int, length: int, initial: bytes) -> None:
        status = _do(self.fake, "SYS.OSALNVItemInit", Id=nvid, ItemLen=length, Value=initial)["Status"]
        if nvid in self.model:
            assert status == 0
        else:
            assert status == 0x09
            value = bytearray(length)
            value[:len(initial)] = initial[:length]
            self.model[nvid] = value

    @rule(nvid=IDS, offset=st.integers(0, 310), data=st.binary(min_size=1, max_size=60))
    def write(self, nvid: int, offset: int, data: bytes) -> None:
        status = _do(self.fake, "SYS.OSALNVWriteExt", Id=nvid, Offset=offset, Value=data)["Status"]
        value = self.model.get(nvid)
        if value is None:
            assert status == 0x09
        elif offset + len(data) > len(value):
            assert status == 0x0C
        else:
            assert status == 0
            value[offset:offset + len(data)] = data

    @rule(nvid=IDS)
    def delete(self, nvid: int) -> None:
        status = _do(self.fake, "SYS.OSALNVDelete", Id=nvid, ItemLen=len(self.model.get(nvid, b"")))["Status"]
        assert status == (0 if self.model.pop(nvid, None) is not None else 0x09)

    @rule()
    def soft_reset(self) -> None:
        self.fake.receive(mt.request("SYS.ResetReq", Type=1).encode(), 0.0)

    @invariant()
    def reads_match(self) -> None:
        for nvid in range(0x0400, 0x0409):
            length = _do(self.fake, "SYS.OSALNVLength", Id=nvid)["ItemLen"]
            assert length == len(self.model.get(nvid, b""))
            data = b""
            while len(data) < length:
                rsp = _do(self.fake, "SYS.OSALNVReadExt", Id=nvid, Offset=len(data))
                assert rsp["Status"] == 0 and rsp["Value"]
                data += rsp["Value"]
            assert data == bytes(self.model.get(nvid, b""))


NvModel.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_nv_behaves_like_its_model = NvModel.TestCase
