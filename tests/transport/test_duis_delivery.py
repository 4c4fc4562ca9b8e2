"""The DUIS outbox (issue 12): durable on enqueue, in order per user, retried with growing backoff."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from aiohttp import web

from emulator.clock import RealClock
from emulator.transport.duis_delivery import DeliveryQueue
from tests.e2e.duis_support import until


async def test_retries_back_off_and_deliver_in_order(tmp_path: Path):
    seen: list[tuple[float, bytes]] = []
    statuses = [503, 500, 503]

    async def handler(request: web.Request) -> web.Response:
        seen.append((time.monotonic(), await request.read()))
        return web.Response(status=statuses.pop(0) if statuses else 204)

    app = web.Application()
    app.router.add_post("/in", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/in"
    q = DeliveryQueue(tmp_path / "outbox.sqlite", {"90B3D51F30010000": url}, RealClock(), first_retry_s=0.1)
    try:
        for i in range(3):
            q.enqueue("90B3D51F30010000", "response", f"r{i}", f"<doc{i}/>".encode())
        q.enqueue("90B3D51F30020000", "response", "x", b"<no-endpoint/>")  # kept, never lost
        await q.start()
        await until(lambda: q.pending("90B3D51F30010000") == 0, 20)
        bodies = [b for _, b in seen]
        assert bodies == [b"<doc0/>"] * 4 + [b"<doc1/>", b"<doc2/>"]  # the head is retried, order kept
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen[:4])]
        assert gaps[0] >= 0.09 and gaps[1] >= 0.19 and gaps[2] >= 0.39  # 0.1 s doubling
        log = {d.ref: d for d in q.log()}
        assert log["r0"].attempts == 4 and log["r0"].last_result == "HTTP 204" and log["r0"].delivered
        assert q.pending("90B3D51F30020000") == 1 and log["x"].delivered is None
    finally:
        await q.stop()
        await runner.cleanup()
