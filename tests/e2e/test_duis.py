"""DCC Boxed's DUIS endpoints end to end over HTTP (issue 12): a commissioned premises behind the
DSP, requests signed as DCC Boxed's tools sign them, every reply XSD-validated and its signature
checked with signxml, device responses and alerts delivered to an endpoint started here."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from lxml import etree

from emulator.clock import RealClock
from emulator.devices.profile import PremisesProfile
from emulator.gbcs import frames, security
from emulator.scenarios.steps import commission, install
from emulator.scenarios.world import World, build_world
from emulator.transport.duis_service import DuisFrontEnd, start_front_end
from emulator.transport.http_api import HttpApi
from tests.e2e.duis_support import (
    DUIS,
    ESME,
    NS,
    OTHER_USER,
    SUPPLIER,
    Endpoint,
    check_dsp_reply,
    code_of,
    counter,
    endpoint,
    needs_duis,
    rid,
    sample,
    schema,
    sign,
    until,
)

pytestmark = needs_duis


@dataclass
class Dsp:
    world: World
    url: str
    ep: Endpoint
    duis: DuisFrontEnd
    xsd: etree.XMLSchema
    wan_sends: list[Any]

    async def post(self, service: str, body: bytes) -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as s, s.post(f"{self.url}/api/v1/{service}", data=body,
                                                         headers={"Content-Type": "application/xml"}) as r:
            return r.status, await r.read()


@contextlib.asynccontextmanager
async def running_dsp(outbox: Path | str = ":memory:", statuses: list[int] | None = None) -> AsyncIterator[Dsp]:
    # No gas meter: none of these tests talks to it, and a sleepy GSME commissions on the wall
    # clock only when it wakes (some 30 s a test).
    world = await build_world(RealClock(), [PremisesProfile(gas=None)])
    p = world.premises[0]
    await install(world, p, world.users[SUPPLIER])
    await commission(world, p, world.users[SUPPLIER])
    sends: list[Any] = []
    real_send = world.dsp.port.send

    async def counting_send(hub: bytes, message: Any) -> None:
        sends.append(message)
        await real_send(hub, message)

    world.dsp.port.send = counting_send  # type: ignore[method-assign]
    async with endpoint(statuses) as ep:
        duis = await start_front_end(world.dsp, DUIS, {SUPPLIER: ep.url}, outbox)
        api = HttpApi(world.dsp, duis=duis)
        port = await api.start()
        try:
            yield Dsp(world, f"http://127.0.0.1:{port}", ep, duis, schema(), sends)
        finally:
            await api.stop()
            await duis.stop()
            await world.stop()


def _gbcs(root: etree._Element, path: str) -> bytes:
    return base64.b64decode(str(root.findtext(path, namespaces=NS)))


async def test_service_s_read_firmware_ack_then_signed_device_response_delivered():
    async with running_dsp() as dsp:
        request_id = rid(SUPPLIER, ESME, counter())
        status, raw = await dsp.post("serviceS", sign(sample("ECS52_11.2_SUCCESS_REQUEST_DUIS.XML", request_id)))
        ack = check_dsp_reply(raw, dsp.xsd)
        assert status == 200 and code_of(ack) == "I99"
        assert ack.findtext("sr:Header/sr:RequestID", namespaces=NS) == request_id
        await until(lambda: dsp.ep.received)
        reply = check_dsp_reply(dsp.ep.received[0], dsp.xsd)
        assert code_of(reply) == "I0"
        assert reply.findtext("sr:Header/sr:RequestID", namespaces=NS) == request_id
        assert reply.findtext("sr:Body/sr:ResponseMessage/sr:ServiceReferenceVariant", namespaces=NS) == "11.2"
        msg = frames.decode(_gbcs(reply, "sr:Body/sr:ResponseMessage/sr:GBCSPayload"))
        assert msg.originator.hex().upper() == ESME and msg.target.hex().upper() == SUPPLIER
        delivery = dsp.duis.delivery
        assert delivery is not None
        # The endpoint has the message; the DSP marks it delivered when the endpoint's 2xx comes back.
        await until(lambda: all(d.delivered is not None for d in delivery.log()))
        assert [(d.kind, d.ref, d.delivered is not None) for d in delivery.log()] == [("response", request_id, True)]
        async with aiohttp.ClientSession() as s, s.get(f"{dsp.url}/api/deliveries") as r:
            assert (await r.json())[0]["ref"] == request_id  # the SSI's delivery log


async def test_service_t_cv4_precommand_then_cv5_signed_precommand_on_service_s():
    async with running_dsp() as dsp:
        # The DCC Boxed TOU tariff template: a nested body, CV 4 to the Transform service.
        request_id = rid(SUPPLIER, ESME, counter())
        status, raw = await dsp.post("serviceT", sign(sample("ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML",
                                                             request_id)))
        answer = check_dsp_reply(raw, dsp.xsd)
        assert status == 200 and code_of(answer) == "I0", raw
        pre_bytes = _gbcs(answer, "sr:Body/sr:ResponseMessage/sr:PreCommand/sr:GBCSPayload")
        pre = frames.decode(pre_bytes)
        assert pre.target.hex().upper() == ESME and pre.originator.hex().upper() == SUPPLIER
        assert not dsp.wan_sends, "CV 4 must send nothing to the device"
        # The user signs the GBCS (its own ECDSA key) and sends CV 5 SignedPreCommand to serviceS.
        signed = frames.encode(security.sign(dsp.world.users[SUPPLIER].keys, pre).with_(mac_protected=False))
        cv5 = etree.fromstring(
            f'<sr:Request xmlns:sr="{NS["sr"]}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>{rid(SUPPLIER, ESME, counter())}</sr:RequestID><sr:CommandVariant>5</sr:CommandVariant>"
            "<sr:ServiceReference>1.1</sr:ServiceReference><sr:ServiceReferenceVariant>1.1.1"
            "</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:SignedPreCommand><sr:GBCSPayload>"
            f"{base64.b64encode(signed).decode()}</sr:GBCSPayload></sr:SignedPreCommand></sr:Body></sr:Request>")
        status, raw = await dsp.post("serviceS", sign(cv5))
        ack = check_dsp_reply(raw, dsp.xsd)
        assert status == 200 and code_of(ack) == "I99", raw
        await until(lambda: dsp.ep.received)
        reply = check_dsp_reply(dsp.ep.received[0], dsp.xsd)
        assert code_of(reply) == "I0"
        assert frames.decode(_gbcs(reply, "sr:Body/sr:ResponseMessage/sr:GBCSPayload")).originator.hex().upper() \
            == ESME


async def test_cv5_reuses_the_cv4_request_id_as_dcc_boxed_client_does():
    async with running_dsp() as dsp:
        request_id = rid(SUPPLIER, ESME, counter())
        _, raw = await dsp.post("serviceT", sign(sample("ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML",
                                                        request_id)))
        pre = frames.decode(_gbcs(check_dsp_reply(raw, dsp.xsd),
                                  "sr:Body/sr:ResponseMessage/sr:PreCommand/sr:GBCSPayload"))
        signed = frames.encode(security.sign(dsp.world.users[SUPPLIER].keys, pre).with_(mac_protected=False))
        cv5 = etree.fromstring(
            f'<sr:Request xmlns:sr="{NS["sr"]}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>{request_id}</sr:RequestID><sr:CommandVariant>5</sr:CommandVariant>"
            "<sr:ServiceReference>1.1</sr:ServiceReference><sr:ServiceReferenceVariant>1.1.1"
            "</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:SignedPreCommand><sr:GBCSPayload>"
            f"{base64.b64encode(signed).decode()}</sr:GBCSPayload></sr:SignedPreCommand></sr:Body></sr:Request>")
        _, raw = await dsp.post("serviceS", sign(cv5))
        assert code_of(check_dsp_reply(raw, dsp.xsd)) == "I99"


async def test_service_d_read_inventory_answers_synchronously():
    async with running_dsp() as dsp:
        req = etree.fromstring(
            f'<sr:Request xmlns:sr="{NS["sr"]}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>{rid(SUPPLIER, '90B3D51F30000002', counter())}</sr:RequestID>"
            "<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.2</sr:ServiceReference>"
            "<sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:ReadInventory>"
            "<sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID></sr:ReadInventory></sr:Body></sr:Request>")
        status, raw = await dsp.post("serviceD", sign(req))
        answer = check_dsp_reply(raw, dsp.xsd)
        assert status == 200 and code_of(answer) == "I0"
        ids = answer.findall("sr:Body/sr:ResponseMessage/sr:DSPInventory/sr:Device/sr:DeviceID", NS)
        # the premises' devices: its hub and its ESME (these tests' premises has no gas meter)
        assert sorted(d.text or "" for d in ids) == ["00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A2"]


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">'
                  b"<sr:Header><sr:RequestID>&lol9;</sr:RequestID></sr:Header></sr:Request>")


async def test_adversarial_requests_are_refused_and_reach_no_device():
    async with running_dsp() as dsp:
        def fresh() -> etree._Element:
            return sample("ECS52_11.2_SUCCESS_REQUEST_DUIS.XML", rid(SUPPLIER, ESME, counter()))

        unsigned = etree.tostring(fresh(), xml_declaration=True, encoding="UTF-8")
        tampered = sign(fresh()).replace(b"<sr:CommandVariant>1<", b"<sr:CommandVariant>2<")
        by_other = sign(fresh(), OTHER_USER)  # a registered certificate, but not the RequestID's originator
        invalid = sign(etree.fromstring(etree.tostring(fresh()).replace(b"ReadFirmwareVersion", b"ReadFirmware")))
        xxe = (Path(DUIS) / "samples" / "duis-xxe.xml").read_bytes()
        cases = {"unsigned": (unsigned, "E2"), "wrongly signed": (tampered, "E2"), "other user": (by_other, "E2"),
                 "XSD-invalid": (invalid, "E1"), "XXE": (xxe, "E1"), "billion laughs": (BILLION_LAUGHS, "E1")}
        for name, (body, code) in cases.items():
            status, raw = await dsp.post("serviceS", body)
            if raw.startswith(b"<?xml"):  # a signed DUIS refusal, HTTP 200 as every DUIS answer
                assert status == 200 and code_of(check_dsp_reply(raw, dsp.xsd)) == code, name
            else:  # nothing to address a DUIS answer to
                assert status == 400 and raw.startswith(code.encode() + b":"), (name, raw)
            assert b"root:" not in raw, name  # the XXE's file was never read
        # A CV the endpoint does not take: the DUIS code for a wrong command variant.
        status, raw = await dsp.post("serviceT", sign(fresh()))
        assert code_of(check_dsp_reply(raw, dsp.xsd)) == "E12"
        assert not dsp.wan_sends and not dsp.ep.received
        audit = [a for a in dsp.world.dsp.core.repo.read_log("audit") if a["what"] == "refused"]
        assert len(audit) == 7


async def test_delivery_retries_in_order_and_survives_a_dsp_restart(tmp_path: Path):
    outbox = tmp_path / "dsp.sqlite"
    # The endpoint refuses everything at first: the DSP keeps the responses and retries.
    async with running_dsp(outbox, statuses=[503] * 1000) as dsp:
        ids = [rid(SUPPLIER, ESME, counter()) for _ in range(3)]
        for request_id in ids:
            _, raw = await dsp.post("serviceS", sign(sample("ECS52_11.2_SUCCESS_REQUEST_DUIS.XML", request_id)))
            assert code_of(check_dsp_reply(raw, dsp.xsd)) == "I99"
        queue = dsp.duis.delivery
        assert queue is not None
        await until(lambda: queue.pending() == 3 and dsp.ep.attempts >= 2)
    # A new DSP on the same file, the endpoint now up: every response arrives, in order.
    async with running_dsp(outbox) as dsp2:
        await until(lambda: len(dsp2.ep.received) == 3)
        got = [etree.fromstring(b).findtext("sr:Header/sr:RequestID", namespaces=NS) for b in dsp2.ep.received]
        assert got == ids
        for body in dsp2.ep.received:
            check_dsp_reply(body, dsp2.xsd)


async def test_device_and_dcc_alerts_are_delivered_signed():
    async with running_dsp() as dsp:
        p = dsp.world.premises[0]
        assert p.esme_runner is not None
        p.esme_runner.raise_alert(0x8F3F)  # tamper: delivered to the responsible supplier
        await until(lambda: dsp.ep.received)
        alert = check_dsp_reply(dsp.ep.received.pop(0), dsp.xsd)
        assert alert.findtext("sr:Body/sr:DeviceAlertMessage/sr:AlertCode", namespaces=NS) == "8F3F"
        assert alert.findtext("sr:Header/sr:ResponseID", namespaces=NS).startswith(  # type: ignore[union-attr]
            "00-DB-12-34-56-78-90-A0:90-B3-D5-1F-30-01-00-00:")
        gbcs = frames.decode(_gbcs(alert, "sr:Body/sr:DeviceAlertMessage/sr:GBCSPayload"))
        assert gbcs.originator.hex().upper() == ESME
        dsp.duis.dcc_alert(SUPPLIER, "AD1", {"PowerOutageEvent": {
            "CommsHubDeviceID": "-".join(f"{b:02X}" for b in p.chf), "StartDateTime": "2026-01-01T00:00:00Z",
            "MPxN": "1234567890123"}})
        await until(lambda: dsp.ep.received)
        alert = check_dsp_reply(dsp.ep.received[0], dsp.xsd)
        assert alert.findtext("sr:Body/sr:DCCAlertMessage/sr:DCCAlertCode", namespaces=NS) == "AD1"


async def test_duis_command_signs_validates_and_sends(tmp_path: Path):
    import asyncio
    import sys

    template = tmp_path / "request.xml"
    async with running_dsp() as dsp:
        request_id = rid(SUPPLIER, ESME, counter())
        template.write_bytes(etree.tostring(sample("ECS52_11.2_SUCCESS_REQUEST_DUIS.XML", request_id)))

        async def cli(*args: str) -> tuple[int, str, str]:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "emulator", "duis", *args,
                                                        stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            return proc.returncode or 0, out.decode(), err.decode()

        code, out, err = await cli("validate", str(template))
        assert code == 1 and "E2" in err  # the template is unsigned
        code, out, err = await cli("sign", str(template), "-o", str(tmp_path / "signed.xml"))
        assert code == 0, err
        code, out, err = await cli("validate", str(tmp_path / "signed.xml"))
        assert code == 0 and "signed by 90B3D51F30010000" in out, err
        code, out, err = await cli("send", str(template), "--url", dsp.url)
        assert code == 0 and "I99, XSD-valid, signed by 90B3D51F30000002" in err, err
        await until(lambda: dsp.ep.received)
        assert request_id.encode() in dsp.ep.received[0]


async def test_future_dated_request_is_acknowledged_now_and_its_response_delivered_after_its_time():
    import datetime
    import time

    async with running_dsp() as dsp:
        at = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=3)).replace(microsecond=0)
        req = sample("ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML", rid(SUPPLIER, ESME, counter()))
        body = req.find("sr:Body/sr:ReadInstantaneousImportRegisters", NS)
        assert body is not None
        etree.SubElement(body, f"{{{NS['sr']}}}ExecutionDateTime").text = at.isoformat(timespec="seconds")
        status, raw = await dsp.post("serviceS", sign(req))
        assert status == 200 and code_of(check_dsp_reply(raw, dsp.xsd)) == "I99"
        assert not dsp.wan_sends, "a future-dated request waits in the DSP"
        await until(lambda: dsp.ep.received)
        assert time.time() >= at.timestamp() - 0.05
        reply = check_dsp_reply(dsp.ep.received[0], dsp.xsd)
        assert code_of(reply) == "I0"
        assert reply.findtext("sr:Body/sr:ResponseMessage/sr:ServiceReferenceVariant", namespaces=NS) == "4.1.1"


async def test_zaz1_other_user_is_known_with_its_registered_role():
    """00DB123456780004 signs its own 8.2 (allowed to Other Users) and gets the inventory;
    an SRV its role may not send is E3 (the role is the registered one, not a guess)."""
    async with running_dsp() as dsp:
        def read_inventory(n: int) -> etree._Element:
            return etree.fromstring(
                f'<sr:Request xmlns:sr="{NS["sr"]}" schemaVersion="5.4"><sr:Header>'
                f"<sr:RequestID>{rid(OTHER_USER, '90B3D51F30000002', n)}</sr:RequestID>"
                "<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.2</sr:ServiceReference>"
                "<sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:ReadInventory>"
                "<sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID></sr:ReadInventory></sr:Body></sr:Request>")

        status, raw = await dsp.post("serviceD", sign(read_inventory(counter()), OTHER_USER))
        assert status == 200 and code_of(check_dsp_reply(raw, dsp.xsd)) == "I0"
        status, raw = await dsp.post("serviceS", sign(sample("ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML",
                                                             rid(OTHER_USER, ESME, counter())), OTHER_USER))
        assert code_of(check_dsp_reply(raw, dsp.xsd)) == "E3"  # 4.1.1 is for IS, GS, ED, GT: not OU
        assert not dsp.wan_sends
