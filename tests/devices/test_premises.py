"""Devices on the virtual HAN (DV-1, DV-5, DV-6, DV-7, IC-1, IC-2): joins, firmware, alerts."""

from __future__ import annotations

import asyncio
import itertools

from emulator.clock import VirtualClock, run, until
from emulator.devices.compact import rows_of
from emulator.devices.events import AlertRaised, FirmwareActivated, FirmwareBlockReceived, FirmwareTransferEnded
from emulator.devices.profile import PremisesProfile
from emulator.gbcs import dlms, frames, security
from emulator.scenarios.steps import commission, install, send_ok
from emulator.scenarios.world import SUPPLIER, World, build_world
from emulator.transport.han import JoinRefusedReason
from emulator.transport.virtual_han import Impairments
from emulator.zigbee import ota_file
from emulator.zigbee.install_code import link_key_from_install_code, with_crc


async def _world(loss: float = 0.0) -> World:
    return await build_world(VirtualClock(), [PremisesProfile()], impairments=Impairments(loss=loss))


async def _commissioned(loss: float = 0.0) -> World:
    w = await _world(loss)
    await install(w, w.premises[0], w.users[SUPPLIER])
    await commission(w, w.premises[0], w.users[SUPPLIER])
    return w


def test_ic2_join_needs_the_device_log_entry_and_the_right_key():
    async def main() -> None:
        w = await _world()
        p = w.premises[0]
        sup = w.users[SUPPLIER]
        assert p.esme_runner is not None
        right = link_key_from_install_code(p.install_codes[p.esme])
        # Not in the device log yet: refused, whatever the key.
        assert await p.esme_runner.try_join(right) == JoinRefusedReason.NOT_IN_DEVICE_LOG
        await send_ok(sup, "8.11", p.chf, {"device": p.esme.hex(), "device_type": 0,
                                           "install_code": p.install_codes[p.esme].hex()})
        # In the log, wrong code: refused with the reason.
        wrong = link_key_from_install_code(with_crc(bytes(16)))
        assert await p.esme_runner.try_join(wrong) == JoinRefusedReason.WRONG_LINK_KEY
        assert p.bus.stats.joins == 0
        # A corrupted code is refused by the CHF before it reaches the log (CRC), named in the response.
        bad = bytearray(p.install_codes[p.gsme])
        bad[0] ^= 1
        _, final = await w.users[SUPPLIER].send("8.11", p.chf.hex().upper(), {
            "device": p.gsme.hex(), "device_type": 1, "install_code": bytes(bad).hex()})
        assert final is not None and any(r["result"] != 0 for r in final.body["payload"]["results"])
        assert p.gsme not in p.chf_runner.machine.device_log
        assert await p.esme_runner.try_join(right) is None
        assert p.bus.stats.joins == 1
        await w.stop()

    run(main())


def test_ic1_installed_never_commissioned_device_joins_later():
    async def main() -> None:
        w = await _world()
        p = w.premises[0]
        await send_ok(w.users[SUPPLIER], "8.11", p.chf, {"device": p.esme.hex(), "device_type": 0,
                                                         "install_code": p.install_codes[p.esme].hex()})
        await asyncio.sleep(30 * 86400)  # a month on the shelf, no WAN for the meter
        assert p.esme_runner is not None
        assert await p.esme_runner.try_join(link_key_from_install_code(p.install_codes[p.esme])) is None
        await w.stop()

    run(main())


def test_dv5_256k_image_over_5_percent_loss_to_esme_and_gsme_and_activation():
    async def main() -> None:
        w = await _commissioned(loss=0.05)
        p = w.premises[0]
        sup = w.users[SUPPLIER]
        images = {}
        for eui, runner, itype in ((p.esme, p.esme_runner, 1), (p.gsme, p.gsme_runner, 2)):
            assert runner is not None
            img = ota_file.sample_image(w.manufacturer, manufacturer_code=0x1234, image_type=itype,
                                        file_version=0x02000000, size=256 * 1024)
            images[eui] = img
            await send_ok(sup, "11.1", "", {"image": img.hex(), "targets": [eui.hex().upper()]})
        assert await until(lambda: all(r is not None and r.machine.firmware.held
                                       for r in (p.esme_runner, p.gsme_runner)), 50_000, every=10), \
            "the 256 KiB images were not both held within 50,000 s (virtual)"
        assert p.bus.stats.lost > 100  # the loss really happened
        ended = [e for e in w.events if isinstance(e, FirmwareTransferEnded)]
        assert {e.device for e in ended if e.ok} == {p.esme, p.gsme}
        # Immediate activation on the ESME, future-dated on the GSME.
        await send_ok(sup, "11.3", p.esme, {"image_hash": ota_file.file_hash(images[p.esme]).hex()})
        when = w.clock.now() + 3600
        await send_ok(sup, "11.3", p.gsme, {"image_hash": ota_file.file_hash(images[p.gsme]).hex(),
                                            "execution_time": when})
        assert p.gsme_runner is not None and p.gsme_runner.machine.firmware.version == bytes.fromhex("0123ABCD")
        def activations() -> dict[bytes, bytes]:
            return {e.device: e.new_version for e in w.events if isinstance(e, FirmwareActivated)}

        await until(lambda: len(activations()) == 2, 3700, every=10)  # the GSME's is due in an hour
        activated = activations()
        assert activated == {p.esme: bytes.fromhex("02000000"), p.gsme: bytes.fromhex("02000000")}
        await w.stop()

    run(main())


def test_dv5_interrupted_transfer_resumes_from_the_last_block():
    async def main() -> None:
        w = await _commissioned()
        p = w.premises[0]
        sup = w.users[SUPPLIER]
        img = ota_file.sample_image(w.manufacturer, manufacturer_code=0x1234, image_type=1, file_version=0x03000000,
                                    size=20_000)
        await send_ok(sup, "11.1", "", {"image": img.hex(), "targets": [p.esme.hex().upper()]})
        assert p.esme_runner is not None
        esme = p.esme_runner.machine
        assert await until(lambda: esme.firmware.download is not None and esme.firmware.download.offset >= 5000,
                           100, every=0.001), "the download did not pass 5000 bytes within 100 s"
        p.bus.impairments.loss = 1.0  # the HAN goes dead mid-transfer
        await asyncio.sleep(60)  # the scenario: a minute without a HAN (virtual time)
        held = esme.firmware.download.offset if esme.firmware.download else -1
        assert 5000 <= held < 20_000
        p.bus.impairments.loss = 0.0
        await until(lambda: esme.firmware.held is not None, 600)
        offsets = [e.offset for e in w.events if isinstance(e, FirmwareBlockReceived) and e.device == p.esme]
        assert offsets == sorted(set(offsets))  # every block once, in order: resumed, not restarted
        assert esme.firmware.held is not None and esme.firmware.held.file_version == 0x03000000
        await w.stop()

    run(main())


def test_dv5_corrupted_or_wrongly_signed_image_is_refused_and_never_activated():
    async def main() -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        w = await _commissioned()
        p = w.premises[0]
        sup = w.users[SUPPLIER]
        rogue = ec.derive_private_key(4242, ec.SECP256R1())
        bad = ota_file.sample_image(rogue, manufacturer_code=0x1234, image_type=1, file_version=0x04000000, size=3000)
        await send_ok(sup, "11.1", "", {"image": bad.hex(), "targets": [p.esme.hex().upper()]})
        await until(lambda: any(r["alert_code"] == "0x8F1C" for r in w.dsp.core.repo.read_log("sat")), 600)
        assert p.esme_runner is not None
        esme = p.esme_runner.machine
        assert esme.firmware.held is None
        alerts = [e for e in w.events if isinstance(e, AlertRaised) and e.device == p.esme]
        assert any(a.alert_code == 0x8F1C and a.critical for a in alerts)
        sat = [r for r in w.dsp.core.repo.read_log("sat") if r["alert_code"] == "0x8F1C"]
        assert sat, "the verification-failed alert did not reach the DSP"
        final = await send_ok(sup, "11.3", p.esme, {"image_hash": ota_file.file_hash(bad).hex()})
        assert final.body["payload"]["value"]["sequence"][0] == {"integer": 1}  # 1: no image held
        assert esme.firmware.version == bytes.fromhex("0123ABCD")
        await w.stop()

    run(main())


def test_dv6_critical_and_non_critical_alerts_reach_the_wan_with_their_framing():
    async def main() -> None:
        w = await _commissioned()
        p = w.premises[0]
        for runner in (p.esme_runner, p.gsme_runner):
            assert runner is not None
            runner.raise_alert(0x8F3F)  # tamper: critical
            runner.raise_alert(0x810E)  # credit added locally: non-critical (RTDS GNCA-DLMS/GNCA-ZigBee)
        def arrived() -> set[tuple[str, str]]:
            return {(r["device"], r["alert_code"]) for r in w.dsp.core.repo.read_log("sat")}

        want = {(eui.hex().upper(), code) for eui in (p.esme, p.gsme) for code in ("0x8F3F", "0x810E")}
        await until(lambda: want <= arrived(), 600, every=1)  # the GSME sends when it next wakes
        sat = w.dsp.core.repo.read_log("sat")
        by_device: dict[str, dict[str, bytes]] = {}
        for r in sat:
            by_device.setdefault(r["device"], {})[r["alert_code"]] = bytes.fromhex(r["gbcs"])
        for eui in (p.esme, p.gsme):
            got = by_device[eui.hex().upper()]
            crit, noncrit = frames.decode(got["0x8F3F"]), frames.decode(got["0x810E"])
            assert crit.message_code == 0x1000 and crit.signature is not None and crit.mac is None
            assert noncrit.message_code == 0x1001 and noncrit.mac is not None and noncrit.signature is None
        await w.stop()

    run(main())


def _protected_rows(user_keys, response) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    """Rows of the log a protected read returns (GBCS 7.2.x): the user decrypts the ESME's part."""
    msg = frames.decode(bytes.fromhex(response.body["gbcs"]))
    answer = dlms.decode_access_response(msg.payload).data[0]
    part = bytes(answer.value[1].value)
    plain, _ = dlms.decode_data(security.decrypt_part(user_keys, msg.originator, msg.target, msg.counter, part), 0)
    return rows_of(plain.value[0])


def _log_rows(response) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    msg = frames.decode(bytes.fromhex(response.body["gbcs"]))
    return rows_of(dlms.decode_access_response(msg.payload).data[0])


def test_dv4_esme_logs_half_hour_profile_daily_reads_and_events():
    async def main() -> None:
        w = await _commissioned()
        p = w.premises[0]
        sup = w.users[SUPPLIER]
        await asyncio.sleep(3 * 86400)  # the scenario: three days of load (virtual time)
        assert p.esme_runner is not None
        p.esme_runner.raise_alert(0x8F32)
        await until(lambda: any(r["alert_code"] == "0x8F32" for r in w.dsp.core.repo.read_log("sat")), 600)
        # ECS22b: the whole active import profile (no ReadLogPeriod), encrypted for the supplier
        rows = _protected_rows(sup.keys, await send_ok(sup, "4.8.1", p.esme))
        assert len(rows) == 3 * 48 and all(isinstance(r[1], int) and r[1] >= 0 for r in rows)
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # oldest first, half-hour steps
        assert all(int(str(b[0])) - int(str(a[0])) == 1800 for a, b in itertools.pairwise(rows))
        # ECS21a: daily reads: the import register at each midnight never goes down
        daily = _protected_rows(sup.keys, await send_ok(sup, "4.6.1", p.esme))
        values = [int(str(r[1])) for r in daily]
        assert len(values) >= 3 and values == sorted(values)
        # ECS35a: the event log holds the alert the meter raised
        events = _log_rows(await send_ok(sup, "6.13", p.esme))
        assert any(e[1] == 0x8F32 for e in events)
        await w.stop()

    run(main())
