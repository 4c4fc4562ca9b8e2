"""DCC Boxed's DUIS endpoints in front of the DSP service: one loop, no rules.

``handle`` runs a posted document through the sans-IO :class:`DuisGateway` (safe parse, XSD,
signature, originator) and the accepted request through :class:`DspService`, answering signed
DUIS. Answers and alerts that come later (device responses, time-outs, alerts) are signed and
put in the user's durable outbox (:class:`DeliveryQueue`), which POSTs them to the user's endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from emulator.dsp.duis_gateway import DuisGateway, content_of
from emulator.dsp.duis_xml import (
    DuisXmlError,
    Tree,
    encode_dcc_alert,
    encode_device_alert,
    encode_response,
    response_id_for,
)
from emulator.dsp.events import AlertForUser
from emulator.dsp.model import Response
from emulator.gbcs.identities import DCC, eui_duis
from emulator.transport.dsp_service import DspService
from emulator.transport.duis_delivery import DeliveryQueue
from emulator.transport.duis_files import load_dsp_signer, load_schema, load_trust

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes


def _duis_eui(eui: str) -> str:
    return eui_duis(bytes.fromhex(eui))


class DuisFrontEnd:
    def __init__(self, service: DspService, gateway: DuisGateway, delivery: DeliveryQueue | None = None) -> None:
        self.service = service
        self.gateway = gateway
        self.delivery = delivery
        self._srv_of: dict[str, str] = {}
        self._alerts = 0
        self.refused = 0
        service.user_listeners.append(self.on_user_output)

    async def stop(self) -> None:
        if self.delivery is not None:
            await self.delivery.stop()

    async def handle(self, endpoint: str, raw: bytes) -> HttpAnswer:
        """Answer one POST to ``/api/v1/{endpoint}``."""
        now = self.service.clock.now()
        try:
            accepted = self.gateway.accept(raw, endpoint, self.service.core.repo.device_named, now)
        except DuisXmlError as e:
            self.refused += 1
            self.service.core.audit(now, "DUIS", "refused", code=e.code, detail=str(e), request_id=e.request_id)
            body = self.gateway.refusal(e, raw, now)
            if body is None:  # not even a ServiceReferenceVariant to answer about
                return HttpAnswer(400, "text/plain", f"{e.code}: {e}".encode())
            # 200 like every DUIS answer: DCC Boxed's own client treats non-2xx as a transport
            # failure and reads E-codes from the DUIS body.
            return HttpAnswer(200, "application/xml", body)
        req = accepted.service_request
        self._srv_of[req.request_id] = req.srv
        response = await self.service.submit(accepted.user.eui, req)
        if response.code != "I99":  # answered now: nothing will come later for it
            self._srv_of.pop(req.request_id, None)
        try:
            return HttpAnswer(200, "application/xml", self.gateway.answer(response, req.srv, self.service.clock.now()))
        except DuisXmlError as e:  # e.g. a project-specific code that DUIS 5.4 does not define
            log.error("DUIS answer to %s is not valid DUIS: %s", req.request_id, e)
            return HttpAnswer(500, "text/plain", f"{response.code}: {response.message} ({e})".encode())

    # --- later answers and alerts ----------------------------------------------------------------
    def on_user_output(self, user: str, item: Response | AlertForUser) -> None:
        if self.delivery is None:
            return
        now = self.service.clock.now()
        try:
            if isinstance(item, Response):
                record = self.service.core.repo.request(item.request_id)
                srv = self._srv_of.pop(item.request_id, "") or (record.srv if record else "")
                doc = encode_response(now, item.code, srv, item.request_id, content_of(item),
                                      response_id=response_id_for(item.request_id))
                self.delivery.enqueue(user, "response", item.request_id, self.gateway.sign(doc))
            else:
                self._alerts += 1
                counter = int(now * 1000) * 100 + self._alerts % 100
                doc = encode_device_alert(now, eui_duis(bytes(item.device)), _duis_eui(user), counter, item.alert_code,
                                          bytes.fromhex(item.gbcs_hex))
                self.delivery.enqueue(user, "device-alert", f"0x{item.alert_code:04X}", self.gateway.sign(doc))
        except (DuisXmlError, ValueError) as e:
            log.error("DUIS: cannot deliver %r to %s: %s", item, user, e)

    def dcc_alert(self, user: str, code: str, alert: Mapping[str, Tree]) -> None:
        """A DCC alert (``AD1``, ``N1``... and its DCCAlert content) for ``user``, delivered like any other."""
        if self.delivery is None:
            return
        now = self.service.clock.now()
        self._alerts += 1
        doc = encode_dcc_alert(now, eui_duis(DCC), _duis_eui(user), int(now * 1000) * 100 + self._alerts % 100, code,
                               alert)
        self.delivery.enqueue(user, "dcc-alert", code, self.gateway.sign(doc))


async def start_front_end(service: DspService, duis_dir: Path, endpoints: Mapping[str, str], outbox: Path | str,
                          keys_dir: Path | None = None) -> DuisFrontEnd:
    """The DUIS endpoints for ``service``: the XSD from ``duis_dir/xsd``, the registered certificates
    and the DSP's signing key from ``keys_dir`` (default ``duis_dir/keys``), each user's roles as the
    DSP registered them, and a started outbox delivering to ``endpoints`` (EUI -> URL)."""
    keys = keys_dir or duis_dir / "keys"
    roles = {eui: tuple(sorted(user.roles)) for eui, user in service.core.users.items()}
    gateway = DuisGateway(load_schema(duis_dir / "xsd"), load_trust(keys, roles), load_dsp_signer(keys))
    delivery = DeliveryQueue(outbox, endpoints, service.clock)
    await delivery.start()
    return DuisFrontEnd(service, gateway, delivery)
