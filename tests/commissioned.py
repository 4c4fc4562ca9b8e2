"""One premises installed and commissioned over the in-memory WAN, on the virtual clock: the
starting point of the end-to-end tests that then try something against its meter."""

from __future__ import annotations

from emulator.clock import VirtualClock
from emulator.devices.profile import PremisesProfile
from emulator.scenarios.steps import commission, install
from emulator.scenarios.world import SUPPLIER, PremisesRuntime, ServiceUser, World, build_world


async def commissioned_world(profile: PremisesProfile | None = None) -> tuple[World, PremisesRuntime, ServiceUser]:
    """The world (electricity only unless ``profile`` says otherwise), its premises and the
    supplier who commissioned it; the caller stops the world."""
    w = await build_world(VirtualClock(), [profile or PremisesProfile(gas=None)])
    try:
        p = w.premises[0]
        sup = w.users[SUPPLIER]
        await install(w, p, sup)
        await commission(w, p, sup)
    except BaseException:
        await w.stop()
        raise
    return w, p, sup
