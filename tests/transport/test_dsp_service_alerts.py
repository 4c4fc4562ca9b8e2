"""The DSP adapter reads what an alert is about from its GBCS (RM-11: a hub's firmware transfer
alert is logged against the meter it names)."""

from __future__ import annotations

from emulator.gbcs import frames
from emulator.transport.dsp_service import alert_code_of, alert_subject_of
from emulator.zigbee.eui64 import Eui64
from tests.conftest import RTDS, need_rtds


def test_rm11_ccs08_firmware_transfer_alert_names_the_meter_as_in_the_reference() -> None:
    need_rtds()
    hex_ = (RTDS / "messages" / "NA_CCS08" / "CCS08_NA_NA_ALERT_GBCS.HEX").read_text().strip()
    msg = frames.decode(bytes.fromhex(hex_))
    assert msg.originator.hex().upper() == "00DB1234567890A2"  # the hub raised it
    assert alert_subject_of(msg) == Eui64.from_hex("00DB1234567890A4")  # about this device
    assert alert_code_of(msg) == 0x8F8A  # 36746: transfer succeeded


def test_an_alert_about_itself_has_no_other_subject() -> None:
    need_rtds()
    ecs = sorted((RTDS / "messages").glob("*/*_ALERT_GBCS.HEX"))
    others = [p for p in ecs if "CCS08" not in p.name]
    assert others
    for p in others[:20]:
        assert alert_subject_of(frames.decode(bytes.fromhex(p.read_text().strip()))) is None, p.name
