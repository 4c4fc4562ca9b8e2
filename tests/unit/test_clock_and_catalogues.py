"""The virtual clock and the catalogue tables."""

from __future__ import annotations

import asyncio
import time

from emulator.clock import DEFAULT_VIRTUAL_START, VirtualClock, run
from emulator.gbcs import catalogue, usecases


def test_dv1_virtual_time_jumps_over_idle_waits():
    async def main() -> tuple[float, float]:
        clock = VirtualClock()
        t0, wall = clock.now(), time.perf_counter()
        await asyncio.sleep(86400)
        return clock.now() - t0, time.perf_counter() - wall

    virtual, wall = run(main())
    assert virtual == 86400
    assert wall < 1.0


def test_dv1_virtual_time_orders_timers_and_starts_at_the_fixed_epoch():
    order: list[int] = []

    async def sleeper(n: int) -> None:
        await asyncio.sleep(n * 60)
        order.append(n)

    async def main() -> float:
        await asyncio.gather(*(sleeper(n) for n in (5, 1, 3)))
        return VirtualClock().now()

    end = run(main())
    assert order == [1, 3, 5]
    assert end == DEFAULT_VIRTUAL_START + 300


def test_catalogues_load_typed():
    assert len(catalogue.message_codes()) == 240
    assert len(catalogue.alert_codes()) == 188
    srvs = catalogue.srvs()
    assert len(srvs) == 129
    assert sum(s.restricted_class == "CONS" for s in srvs.values()) == 18
    assert catalogue.alert_codes()[0x8F3D].name == "Trusted Source Authentication Failure"
    assert srvs["8.2"].non_device and srvs["8.2"].command_variants == (8,)


def test_every_device_srv_resolves_to_a_message_code():
    for srv in catalogue.srvs().values():
        if srv.non_device:
            continue
        assert usecases.device_types_for(srv.srv), srv.srv
    uc = usecases.use_case_for("11.3", "ESME")
    assert uc is not None and uc.use_case == "CS06" and uc.critical
