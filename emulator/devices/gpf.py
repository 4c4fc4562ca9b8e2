"""The Gas Proxy Function (GPF): lives in the hub, mirrors the sleepy GSME's data and answers
reads on its behalf at once, so a gas read need not wait for the GSME to wake.
"""

from __future__ import annotations

from emulator.devices.base import Output, WanFrame
from emulator.devices.endpoint import GbcsEndpoint, accept_reporting
from emulator.devices.firmware import FirmwareState
from emulator.devices.usecase_handlers import asn1_response
from emulator.devices.zcl_model import FIRMWARE_VERSION_ATTR, METERING, Attr, GasState, answer_gbz, restore_device_log
from emulator.gbcs import gbz, security
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.frames import Message
from emulator.zigbee import zcl
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.zcl import DataType

# How the GSME's consumption registers read (the GSME's own values, which the mirror lacks).
CONSUMPTION_FORMAT: dict[tuple[int, int], Attr] = {
    (METERING, 0x0300): (DataType.ENUM8, 0x01), (METERING, 0x0301): (DataType.UINT24, 1),
    (METERING, 0x0302): (DataType.UINT24, 1000),
}
RESTORE_DEVICE_LOG = 0x008C  # GCS59 Restore GPF Device Log (8.12.2)


class Gpf:
    KIND = "GPF"

    def __init__(self, eui: bytes, endpoint: GbcsEndpoint, firmware_version: bytes) -> None:
        self.eui = eui
        self.endpoint = endpoint
        self.firmware = FirmwareState(firmware_version)
        self.mirror: dict[tuple[int, int], Attr] = {}
        self.mirror_time: float | None = None
        self.state = GasState()  # the settings the GPF answers for (its copy of the gas configuration)
        self.device_log: dict[bytes, int] = {}  # restored by GCS59: device id -> device type

    def attribute(self, cluster: int, attr: int, now: float) -> Attr | None:
        if (cluster, attr) == (METERING, FIRMWARE_VERSION_ATTR):
            return (DataType.OCTET_STRING, self.firmware.version)
        return self.mirror.get((cluster, attr)) or CONSUMPTION_FORMAT.get((cluster, attr))

    def update_mirror(self, cluster: int, report: bytes, now: float) -> None:
        """Attribute records of a ZCL Report Attributes from the GSME (id, type, value). A report
        that does not parse is dropped whole: the mirror keeps the last good values and their time."""
        try:
            records = zcl.decode_report_attributes(report)
        except ZigbeeError:
            return
        for record in records:
            self.mirror[(cluster, record.attribute_id)] = (DataType(record.data_type), record.value)
        self.mirror_time = now

    def answer(self, msg: Message, now: float) -> bytes:
        """Act on an accepted command and return the response payload."""
        try:
            if msg.payload[:2] == gbz.HEADER:
                keys = self.endpoint.keys

                def encrypt(plain: bytes) -> bytes:
                    return security.encrypt_part(keys, self.eui, msg.originator, msg.counter, plain)

                can = keys.has(self.eui, "ka", private=True) and keys.has(msg.originator, "ka")
                return answer_gbz(msg.payload, self.attribute, now, self.state, message_code=msg.message_code,
                                  encrypt=encrypt if can else None)
            if msg.message_code == RESTORE_DEVICE_LOG:
                return restore_device_log(self.device_log, msg.payload)
            return asn1_response(self, msg, now)
        except GbcsError:
            return gbz.GbzPayload(()).encode()

    def on_gbcs(self, wire: bytes, now: float) -> Output:
        msg, events = accept_reporting(self.endpoint, wire, now)
        out = Output(events=events)
        if msg is None:
            return out
        payload = self.answer(msg, now)
        out.wan.append(WanFrame(self.endpoint.respond(msg, payload, now), "response", self.eui, msg.counter))
        return out
