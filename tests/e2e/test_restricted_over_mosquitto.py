"""Restricted mode end to end over a real mosquitto, a CHF and an ESME on the virtual HAN, and a
DSP restarted on its SQLite file (RM-1, RM-2, RM-4, RM-5, RM-6, RM-7, RM-9, RM-12, WN-1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.clock import VirtualClock, run
from emulator.devices.profile import PremisesProfile
from emulator.dsp.core import Dsp
from emulator.dsp.store import SqliteRepository
from emulator.pki.generate import device_eui
from emulator.scenarios.steps import alerts_logged, commission, install
from emulator.scenarios.world import SECOND_SUPPLIER, SUPPLIER, USERS, build_world, view
from emulator.transport.broker import find_mosquitto, start_broker
from emulator.transport.dsp_service import DspService
from emulator.transport.mqtt_wan import MqttDspPort, MqttHubPort
from emulator.zigbee.eui64 import Eui64

pytestmark = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed (./dev.sh installs it)")


def test_rm_restricted_end_to_end_and_rm12_dsp_restart(tmp_path: Path):
    db = tmp_path / "dsp.sqlite"

    async def main() -> None:
        async with start_broker(hubs={device_eui(0, "CHF")}) as broker:
            repo = SqliteRepository(db)
            w = await build_world(VirtualClock(), [PremisesProfile(gas=None)], repo=repo,
                                  dsp_port=MqttDspPort(broker.dsp_url()),
                                  hub_port=lambda hub: MqttHubPort(broker.hub_url(hub), hub))
            p = w.premises[0]
            esme = p.esme.hex().upper()
            sup, other = w.users[SUPPLIER], w.users[SECOND_SUPPLIER]
            await install(w, p, sup)
            await commission(w, p, sup)
            assert (await w.dsp.set_restricted(SECOND_SUPPLIER, Eui64(p.esme), True)).code == "E4"  # RM-2
            assert (await w.dsp.set_restricted(SUPPLIER, Eui64(p.esme), True)).code == "I0"
            assert w.dsp.csps["NORTH"].restricted_hubs() == [p.chf.hex().upper()]  # RM-7
            ack, final = await sup.send("4.1.1", esme)  # RM-4
            assert ack.code == "E72" and final is None
            ack, final = await sup.send("11.2", esme)  # allowed, reaches the device (RM-10)
            assert final is not None and final.code == "I0"
            assert p.esme_runner is not None
            p.esme_runner.raise_alert(0x8F0A)
            p.esme_runner.raise_alert(0x8F3F)
            await alerts_logged(w, ("0x8F0A", "0x8F3F"), 0, 0)  # both landed, in one log or the other
            assert [r["alert_code"] for r in repo.read_log("diagnostics")] == ["0x8F0A"]  # RM-5
            w.dsp.core.change_of_supplier(Eui64(p.esme), SECOND_SUPPLIER, w.clock.now())  # RM-9: flag kept
            ack, _ = await other.send("8.2", "", {"premises": p.id})
            assert {r["eui"]: r["restricted"] for r in ack.body["inventory"]}[esme] is True  # RM-6
            await w.dsp.stop()
            repo.close()
            # RM-12: a new DSP on the same file keeps flags, logs and inventory, and keeps enforcing.
            repo2 = SqliteRepository(db)
            dsp2 = DspService(Dsp(repo2, None, USERS), MqttDspPort(broker.dsp_url()),
                              view(w.keys, [bytes.fromhex("90B3D51F30000002")]), w.clock)
            await dsp2.start()
            dev = repo2.device(Eui64.from_hex(esme))
            assert dev is not None and dev.restricted and dev.responsible_supplier == SECOND_SUPPLIER
            assert [r["alert_code"] for r in repo2.read_log("diagnostics")] == ["0x8F0A"]
            assert {"restricted-set", "restricted-rejection", "alert-discarded", "change-of-supplier"} <= {
                a["what"] for a in repo2.read_log("audit")}
            other.service = dsp2
            ack, _ = await other.send("4.1.1", esme)
            assert ack.code == "E72"
            ack, final = await other.send("11.2", esme)
            assert ack.code == "I99"
            await dsp2.stop()
            for r in (p.esme_runner,):
                await r.stop()
            await p.chf_runner.stop()
            repo2.close()

    run(main())
