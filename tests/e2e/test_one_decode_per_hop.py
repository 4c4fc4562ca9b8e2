"""Issue 15: one SRV followed from the DSP to the ESME and back is decoded once per hop. Every call of
the GBCS envelope decoder is counted by the function that made it while one SRV 4.1.1 crosses a
premises on the virtual bus: the CHF once on the way down, the ESME once, the CHF once on the way
up, the DSP once."""

from __future__ import annotations

import traceback
from collections import Counter
from typing import Any

import pytest

from emulator.devices.profile import PremisesProfile
from emulator.gbcs import frames
from emulator.pytest_plugin import Smets2
from emulator.scenarios import steps
from emulator.scenarios.world import SUPPLIER, World


def test_one_srv_is_decoded_once_per_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    counts: Counter[str] = Counter()
    counting = [False]
    decode = frames.decode

    def counted(data: bytes, *args: Any, **kwargs: Any) -> frames.Message:
        if counting[0]:
            caller = traceback.extract_stack(limit=2)[0]
            counts[f"{caller.filename.split('emulator/')[-1]}:{caller.name}"] += 1
        return decode(data, *args, **kwargs)

    monkeypatch.setattr(frames, "decode", counted)

    async def scenario(world: World) -> None:
        p = world.premises[0]
        user = world.users[SUPPLIER]
        await steps.install(world, p, user)
        await steps.commission(world, p, user)
        counting[0] = True
        await steps.send_ok(user, "4.1.1", p.esme.hex().upper())
        counting[0] = False

    Smets2().run(scenario, [PremisesProfile(gas=None)])
    assert dict(counts) == {
        "devices/chf.py:on_wan_command": 1,  # the hub, on the way down
        "devices/endpoint.py:accept": 1,  # the ESME
        "devices/chf.py:_up": 1,  # the hub, on the way up
        "transport/dsp_service.py:on_up": 1,  # the DSP
    }
