"""The SSI stand-in over HTTP: a small asyncio HTTP/1.1 server (stdlib only) in front of the
DSP service. One mechanical loop: parse a request, route it, answer JSON, CSV or the page.

    GET  /                        the SSI page
    GET  /api/inventory           devices with the Restricted flag (RM-6)
    GET  /api/extract.csv         the device extract (RM-6)
    GET  /api/logs/{sat|diagnostics|audit}
    GET  /api/reports/{monthly|firmware}, /api/csp/{NORTH|CENTRAL_SOUTH}
    POST /api/restricted          {"user", "device", "restricted"} (RM-2, RM-3)
    POST /api/requests            a DUIS request, JSON or XML (Content-Type), user in X-User
    GET  /api/requests/{id}       the device's response when it has come
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote, urlsplit

from emulator.dsp.duis import DuisError, from_json, from_xml, to_json, to_xml
from emulator.dsp.reports import device_extract_csv, firmware_monitoring, monthly_report
from emulator.transport.dsp_service import DspService
from emulator.transport.ssi_page import PAGE

MAX_BODY = 2_000_000


class HttpApi:
    def __init__(self, service: DspService, host: str = "127.0.0.1", port: int = 0) -> None:
        self.service = service
        self.host, self.port = host, port
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0"))
                if n > MAX_BODY:
                    await self._send(writer, 413, "text/plain", b"request body too large")
                    return
                body = await reader.readexactly(n) if n else b""
                status, ctype, payload = await self._route(method, target, headers, body)
                await self._send(writer, status, ctype, payload)
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, status: int, ctype: str, payload: bytes) -> None:
        reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 413: "Too Large"}.get(status, "")
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                     f"Cache-Control: no-store\r\n\r\n".encode() + payload)
        await writer.drain()

    def _json(self, value: Any, status: int = 200) -> tuple[int, str, bytes]:
        return status, "application/json", json.dumps(value).encode()

    async def _route(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        path = unquote(urlsplit(target).path)
        core = self.service.core
        if method == "GET":
            if path == "/":
                return 200, "text/html; charset=utf-8", PAGE.encode()
            if path == "/api/inventory":
                return self._json(core.read_inventory())
            if path == "/api/extract.csv":
                return 200, "text/csv", device_extract_csv(core.repo).encode()
            if path.startswith("/api/logs/"):
                name = path.rsplit("/", 1)[1]
                if name not in ("sat", "diagnostics", "audit"):
                    return self._json({"error": f"no log {name!r}: sat, diagnostics or audit"}, 404)
                return self._json(core.repo.read_log(name))
            if path == "/api/reports/monthly":
                now = self.service.clock.now()
                return self._json(monthly_report(core.repo, now - 31 * 86400, now + 1))
            if path == "/api/reports/firmware":
                return self._json(firmware_monitoring(core.repo, core.policy))
            if path.startswith("/api/csp/"):
                csp = self.service.csps.get(path.rsplit("/", 1)[1])
                if csp is None:
                    return self._json({"error": "region is NORTH or CENTRAL_SOUTH"}, 404)
                return self._json({"region": csp.region, "restricted_hubs": csp.restricted_hubs(),
                                   "notifications": len(csp.received)})
            if path.startswith("/api/requests/"):
                rid = path.split("/api/requests/", 1)[1]
                done = self.service.completed.get(rid)
                return self._json(to_json(done)) if done else self._json({"RequestID": rid, "pending": True}, 202)
        if method == "POST":
            if path == "/api/restricted":
                try:
                    doc = json.loads(body)
                    r = await self.service.set_restricted(str(doc["user"]), str(doc["device"]).upper(),
                                                          bool(doc["restricted"]))
                except (ValueError, KeyError, TypeError) as e:
                    return self._json({"ResponseCode": "E1", "ResponseMessage": f"body needs user, device, "
                                                                                f"restricted ({e})"}, 400)
                return self._json(to_json(r))
            if path == "/api/requests":
                xml = "xml" in headers.get("content-type", "")
                try:
                    req = from_xml(body) if xml else from_json(body)
                except DuisError as e:
                    return self._json({"ResponseCode": e.code, "ResponseMessage": str(e)}, 400)
                user = headers.get("x-user") or req.originator
                r = await self.service.submit(user, req)
                if xml:
                    return 200, "application/xml", to_xml(r).encode()
                return self._json(to_json(r))
        return self._json({"error": f"no route {method} {path}"}, 404)
