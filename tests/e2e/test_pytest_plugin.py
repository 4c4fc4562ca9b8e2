"""The pytest plugin, used as a user would: the ``smets2`` fixture from the installed entry point."""

from __future__ import annotations

from emulator.pytest_plugin import Smets2
from emulator.zigbee.eui64 import Eui64


def test_plugin_drives_a_premises(smets2: Smets2):
    async def scenario(world):  # type: ignore[no-untyped-def]
        p = world.premises[0]
        await smets2.commissioned(world, p)
        _, final = await world.users[smets2.SUPPLIER].send("11.2", p.esme.hex().upper())
        r = await world.dsp.set_restricted(smets2.SUPPLIER, Eui64(p.esme), True)
        ack, _ = await world.users[smets2.SUPPLIER].send("4.1.1", p.esme.hex().upper())
        return final.code, r.code, ack.code

    assert smets2.run(scenario) == ("I0", "I0", "E72")
