"""DUIS benchmark: signed DUIS requests per second end to end over HTTP, beside the bare cost of
what each request needs at the least (one XML sign + one verify + one XSD validation), in one run.

End to end: clients sign a Read Firmware Version request (ZAZ1 supplier key), POST it to
``/api/v1/serviceS``; the DSP checks it (safe parse, XSD, signature), acknowledges I99 (XSD,
signed), sends the command over the WAN to a commissioned ESME on the virtual HAN, and the
ESME's response is XSD-validated, signed and POSTed to the user's endpoint, where it is counted.
Each request thus costs 3 signatures, 1 verification and 3 XSD validations on the DSP side
plus the client's signing: the ratio against the bare trio shows the rest of the pipeline.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from emulator.bench.codec import _rate
from emulator.dsp.duis_xml import encode_request, parse
from emulator.gbcs.identities import ESME, SUPPLIER, eui_duis
from emulator.transport.duis_files import default_dir, load_dsp_signer, load_schema, load_signer, load_trust
from emulator.zigbee.jsonvalue import JsonObject

CONCURRENCY = 8


def _request(counter: int) -> Any:
    return encode_request(f"{eui_duis(SUPPLIER)}:{eui_duis(ESME)}:{counter}", 1, "11.2", "ReadFirmwareVersion", {})


def run(seconds: float = 1.0) -> JsonObject:
    duis = default_dir()
    if not (duis / "xsd").is_dir():
        return {"skipped": f"no DUIS reference data at {duis} (set SMETS2_DUIS_DIR)"}
    schema = load_schema(duis / "xsd")
    trust = load_trust(duis / "keys", {})
    user = load_signer(duis / "keys", SUPPLIER.hex().upper())
    dsp = load_dsp_signer(duis / "keys")
    signed = parse(user.sign(_request(1)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else -1.0  # the machine is shared: say how busy

    def trio(i: int) -> None:
        root = parse(user.sign(_request(i + 1)))
        trust.verify(root)
        schema.check(root)

    baseline = _rate(trio, seconds)
    r: dict[str, float] = {
        "baseline_sign_verify_xsd_per_s": baseline,
        "xml_sign_per_s": _rate(lambda i: dsp.sign(_request(i + 1)), seconds / 2),
        "xml_verify_per_s": _rate(lambda i: trust.verify(signed), seconds / 2),
        "xsd_validate_per_s": _rate(lambda i: schema.check(signed), seconds / 2),
    }
    r.update(asyncio.run(_end_to_end(max(5.0, seconds * 5))))
    r["ratio_end_to_end_vs_trio"] = r["signed_requests_end_to_end_per_s"] / baseline
    r["load_average_1min_at_start"] = load
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}


async def _end_to_end(seconds: float) -> dict[str, float]:
    import aiohttp
    from aiohttp import web

    from emulator.clock import RealClock
    from emulator.devices.profile import PremisesProfile
    from emulator.scenarios.steps import commission, install
    from emulator.scenarios.world import build_world
    from emulator.transport.duis_service import start_front_end
    from emulator.transport.http_api import HttpApi

    delivered: list[float] = []

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        delivered.append(time.perf_counter())
        return web.Response()

    app = web.Application()
    app.router.add_post("/duis", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    endpoint = f"http://127.0.0.1:{runner.addresses[0][1]}/duis"
    world = await build_world(RealClock(), [PremisesProfile()])
    p = world.premises[0]
    sup = SUPPLIER.hex().upper()
    await install(world, p, world.users[sup])
    await commission(world, p, world.users[sup])
    duis = default_dir()
    front = await start_front_end(world.dsp, duis, {sup: endpoint}, ":memory:")
    api = HttpApi(world.dsp, duis=front)
    url = f"http://127.0.0.1:{await api.start()}/api/v1/serviceS"
    user = load_signer(duis / "keys", sup)
    counter = int(time.time() * 1000) + 1_000_000
    acks = 0
    try:
        async with aiohttp.ClientSession() as session:
            stop_at = time.perf_counter() + seconds

            async def client() -> None:
                nonlocal counter, acks
                while time.perf_counter() < stop_at:
                    counter += 1
                    body = user.sign(_request(counter))
                    async with session.post(url, data=body, headers={"Content-Type": "application/xml"}) as r:
                        if b"I99" in await r.read():
                            acks += 1

            start = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
            deadline = time.perf_counter() + 30
            while len(delivered) < acks and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            elapsed = (delivered[-1] if delivered else time.perf_counter()) - start
    finally:
        await api.stop()
        await front.stop()
        await world.stop()
        await runner.cleanup()
    return {"signed_requests_end_to_end_per_s": len(delivered) / elapsed, "requests_acknowledged": acks,
            "responses_delivered": len(delivered), "end_to_end_seconds": elapsed, "concurrency": CONCURRENCY}
