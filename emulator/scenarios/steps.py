"""Steps the journeys share: install and commission a meter set, distribute and activate firmware."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from emulator.clock import until
from emulator.devices.chf import DEVICE_TYPE_CODES
from emulator.dsp.model import Response, Status
from emulator.scenarios.report import check
from emulator.scenarios.world import PremisesRuntime, ServiceUser, World
from emulator.zigbee import ota_file
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.install_code import link_key_from_install_code

#: How long the DSP may take to hear of a join (the hub's event over the WAN), in the run's clock.
JOIN_REPORT_S = 60.0
#: How long a raised alert may take to reach the DSP's logs (the hub re-sends it every 30 s until acknowledged).
ALERT_ARRIVAL_S = 120.0
#: How long every target of an SRV 11.1 may take to hold the image (a sleepy GSME fetches while awake).
OTA_DOWNLOAD_S = 10_000.0


def ok(final: Response | None, what: str) -> Response:
    check(final is not None and final.code == "I0", f"{what}: expected I0, got "
          f"{final.code + ' ' + final.message if final else 'no device response'}")
    assert final is not None
    return final


async def send_ok(user: ServiceUser, srv: str, target: bytes | str, body: dict[str, Any] | None = None) -> Response:
    t = target.hex().upper() if isinstance(target, bytes) else target
    ack, final = await user.send(srv, t, body)
    check(ack.code in ("I99", "I0"), f"SRV {srv} to {t}: refused {ack.code}: {ack.message}")
    if ack.code == "I0" and final is None:
        return ack
    return ok(final, f"SRV {srv} to {t}")


def meters(p: PremisesRuntime) -> list[tuple[bytes, str]]:
    out = []
    if p.esme_runner is not None:
        out.append((p.esme, "ESME"))
    if p.gsme_runner is not None:
        out.append((p.gsme, "GSME"))
    return out


JOIN_RETRIES = 10
NOT_PERMITTED_YET = "joining is not permitted now"


async def install(world: World, p: PremisesRuntime, user: ServiceUser, *, codes: dict[bytes, bytes] | None = None,
                  commission_hub: bool = True, again: bool = False) -> list[str]:
    """SRV 8.14.1 for the hub, SRV 8.11 with each meter's install code, then the meters join (IC-2).
    ``again``: the DSP's kept state (``--db``) may already show the meters Commissioned (the devices,
    which keep no state, are being installed anew against it)."""
    notes = []
    if commission_hub:
        await send_ok(user, "8.14.1", "", {"device": p.chf.hex().upper()})
    for eui, kind in meters(p):
        code = (codes or p.install_codes)[eui]
        await send_ok(user, "8.11", p.chf, {"device": eui.hex(), "device_type": DEVICE_TYPE_CODES[kind],
                                            "install_code": code.hex()})
    for eui, kind in meters(p):
        runner = p.esme_runner if kind == "ESME" else p.gsme_runner
        assert runner is not None
        key = link_key_from_install_code(p.install_codes[eui])
        reason = await runner.try_join(key)
        # On a real radio the hub opens the permit after answering 8.11 (zigpy-znp's MT round trips):
        # the meter retries its join meanwhile, as a real one does, for a few seconds.
        for _ in range(JOIN_RETRIES):
            if reason is None or NOT_PERMITTED_YET not in reason:
                break
            await asyncio.sleep(1.0)  # the meter's own retry interval: the scenario, not a wait for a condition
            reason = await runner.try_join(key)
        check(reason is None, f"{kind} {eui.hex().upper()} did not join: {reason}")
        notes.append(f"{kind} joined")
    # The hub tells the DSP of each join (an event over the WAN): wait for it, with a deadline.
    repo = world.dsp.core.repo

    expected = {Status.INSTALLED_NOT_COMMISSIONED} | ({Status.COMMISSIONED} if again else set())

    def installed(eui: bytes) -> bool:
        dev = repo.device(Eui64(eui))
        return dev is not None and dev.status in expected

    await until(lambda: all(installed(eui) for eui, _ in meters(p)), JOIN_REPORT_S)
    for eui, kind in meters(p):
        dev = repo.device(Eui64(eui))
        check(dev is not None and dev.status in expected,
              f"{kind} status {dev.status.value if dev else '?'} after joining, expected InstalledNotCommissioned")
    return notes


async def alerts_logged(world: World, codes: Iterable[str], sat0: int, diag0: int) -> None:
    """Wait until each alert code (``"0x8F3F"``) is in the SAT log after entry ``sat0`` or in the
    diagnostics log after ``diag0``; the caller then checks which. A deadline, not a fixed pause."""
    repo, want = world.dsp.core.repo, set(codes)

    def landed() -> bool:
        seen = {r["alert_code"] for r in repo.read_log("sat")[sat0:]}
        seen |= {r["alert_code"] for r in repo.read_log("diagnostics")[diag0:]}
        return want <= seen

    await until(landed, ALERT_ARRIVAL_S, every=0.5)


async def commission(world: World, p: PremisesRuntime, user: ServiceUser) -> None:
    """SRV 8.1.1 (critical: Pre-Command signed by the supplier) for each meter."""
    for eui, kind in meters(p):
        await send_ok(user, "8.1.1", eui)
        dev = world.dsp.core.repo.device(Eui64(eui))
        check(dev is not None and dev.status == Status.COMMISSIONED, f"{kind} not Commissioned after 8.1.1")


async def firmware_update(world: World, p: PremisesRuntime, user: ServiceUser, version: int,
                          size: int) -> dict[str, str]:
    """SRV 11.1 (distribute to the hub), wait for the devices' receipts, SRV 11.3, read back with 11.2."""
    out: dict[str, str] = {}
    images = {}
    for eui, kind in meters(p):
        profile = p.profile.electricity if kind == "ESME" else p.profile.gas
        assert profile is not None
        img = ota_file.sample_image(world.manufacturer, manufacturer_code=profile.manufacturer_code,
                                    image_type=profile.image_type, file_version=version, size=size)
        images[eui] = img
        await send_ok(user, "11.1", "", {"image": img.hex(), "targets": [eui.hex().upper()]})
    # Wait (virtual time) until every target holds the image: the GSME fetches while awake.
    runners = [r for r in (p.esme_runner, p.gsme_runner) if r is not None]
    await until(lambda: all(r.machine.firmware.held is not None for r in runners), OTA_DOWNLOAD_S, every=5)
    for eui, kind in meters(p):
        runner = p.esme_runner if kind == "ESME" else p.gsme_runner
        assert runner is not None
        check(runner.machine.firmware.held is not None, f"{kind} did not receive and verify the image")
        await send_ok(user, "11.3", eui, {"image_hash": ota_file.file_hash(images[eui]).hex()})
        final = await send_ok(user, "11.2", eui)
        dev = world.dsp.core.repo.device(Eui64(eui))
        got = dev.firmware_version if dev else "?"
        check(got == f"{version:08X}", f"{kind} reports firmware {got} after activation, expected {version:08X}")
        out[kind] = got
        del final
    return out
