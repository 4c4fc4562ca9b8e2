"""The DSP over HTTP on aiohttp: DCC Boxed's DUIS endpoints, the SSI page and its JSON API.

    POST /api/v1/serviceS|serviceT|serviceD   signed DUIS XML in and out (DuisFrontEnd)
    GET  /                        the SSI page
    GET  /api/inventory           devices with the Restricted flag (RM-6)
    GET  /api/extract.csv         the device extract (RM-6)
    GET  /api/logs/{sat|diagnostics|audit}
    GET  /api/reports/{monthly|firmware}, /api/csp/{NORTH|CENTRAL_SOUTH}
    GET  /api/deliveries          the DUIS delivery log (outbox)
    POST /api/restricted          {"user", "device", "restricted"} (RM-2, RM-3)     token
    POST /api/requests            a DUIS-like JSON request, user in X-User           token
    GET  /api/requests/{id}       the device's response when it has come

Changing calls of the JSON API need the local token printed at start (``Authorization:
Bearer TOKEN`` or ``X-SSI-Token``); the DUIS endpoints are authenticated by their signatures.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulator.dsp.duis import DuisError, from_json, to_json
from emulator.dsp.reports import device_extract_csv, firmware_monitoring, monthly_report
from emulator.transport.dsp_service import DspService
from emulator.transport.duis_service import DuisFrontEnd
from emulator.transport.ssi_page import PAGE
from emulator.zigbee.eui64 import Eui64

MAX_BODY = 2_000_000
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, headers={"Cache-Control": "no-store"})


class HttpApi:
    def __init__(self, service: DspService, host: str = "127.0.0.1", port: int = 0, *,
                 duis: DuisFrontEnd | None = None, token: str | None = None) -> None:
        self.service = service
        self.host, self.port = host, port
        self.duis = duis
        #: The local token that changing JSON calls must carry (printed at start).
        self.token = token or secrets.token_urlsafe(18)
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._auth])
        r = app.router
        r.add_get("/", self._page)
        r.add_get("/api/inventory", self._inventory)
        r.add_get("/api/extract.csv", self._extract)
        r.add_get("/api/logs/{name}", self._logs)
        r.add_get("/api/reports/monthly", self._monthly)
        r.add_get("/api/reports/firmware", self._firmware)
        r.add_get("/api/csp/{region}", self._csp)
        r.add_get("/api/deliveries", self._deliveries)
        r.add_get("/api/requests/{rid}", self._result)
        r.add_post("/api/restricted", self._restricted)
        r.add_post("/api/requests", self._request)
        r.add_post("/api/v1/{endpoint:service[STD]}", self._duis)
        return app

    async def start(self) -> int:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- authentication of changing JSON calls ------------------------------------------------------
    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and request.path.startswith("/api/") and not request.path.startswith("/api/v1/"):
            given = request.headers.get("X-SSI-Token", "")
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                given = auth[7:].strip()
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _json({"ResponseCode": "E3", "ResponseMessage": "this call needs the SSI token printed at "
                                                                       "start (Authorization: Bearer TOKEN)"}, 401)
        return await handler(request)

    # --- DUIS ---------------------------------------------------------------------------------------
    async def _duis(self, request: web.Request) -> web.Response:
        if self.duis is None:
            return web.Response(status=503, text="DUIS is not configured on this DSP (no schema or keys)")
        answer = await self.duis.handle(request.match_info["endpoint"], await request.read())
        return web.Response(status=answer.status, body=answer.body, content_type=answer.content_type)

    # --- the SSI ------------------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def _inventory(self, request: web.Request) -> web.Response:
        return _json(self.service.core.read_inventory())

    async def _extract(self, request: web.Request) -> web.Response:
        return web.Response(text=device_extract_csv(self.service.core.repo), content_type="text/csv")

    async def _logs(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in ("sat", "diagnostics", "audit"):
            return _json({"error": f"no log {name!r}: sat, diagnostics or audit"}, 404)
        return _json(self.service.core.repo.read_log(name))

    async def _monthly(self, request: web.Request) -> web.Response:
        now = self.service.clock.now()
        return _json(monthly_report(self.service.core.repo, now - 31 * 86400, now + 1))

    async def _firmware(self, request: web.Request) -> web.Response:
        return _json(firmware_monitoring(self.service.core.repo, self.service.core.policy))

    async def _csp(self, request: web.Request) -> web.Response:
        csp = self.service.csps.get(request.match_info["region"])
        if csp is None:
            return _json({"error": "region is NORTH or CENTRAL_SOUTH"}, 404)
        return _json({"region": csp.region, "restricted_hubs": csp.restricted_hubs(),
                      "notifications": len(csp.received)})

    async def _deliveries(self, request: web.Request) -> web.Response:
        queue = self.duis.delivery if self.duis is not None else None
        return _json([dataclasses.asdict(d) for d in queue.log()] if queue is not None else [])

    async def _result(self, request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        done = self.service.completed.get(rid)
        return _json(to_json(done)) if done else _json({"RequestID": rid, "pending": True}, 202)

    async def _restricted(self, request: web.Request) -> web.Response:
        try:
            doc = json.loads(await request.read())
            r = await self.service.set_restricted(str(doc["user"]), Eui64.from_hex(str(doc["device"])),
                                                  bool(doc["restricted"]))
        except (ValueError, KeyError, TypeError) as e:
            return _json({"ResponseCode": "E1", "ResponseMessage": f"body needs user, device, restricted ({e})"}, 400)
        return _json(to_json(r))

    async def _request(self, request: web.Request) -> web.Response:
        try:
            req = from_json(await request.read())
        except DuisError as e:
            return _json({"ResponseCode": e.code, "ResponseMessage": str(e)}, 400)
        user = request.headers.get("X-User") or req.originator
        return _json(to_json(await self.service.submit(user, req)))
