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

# How the GSME's consumption registers read (the GSME's own values, which the mirror lacks).
CONSUMPTION_FORMAT: dict[tuple[int, int], Attr] = {
    (METERING, 0x0300): ("enum8", 0x01), (METERING, 0x0301): ("uint24", 1), (METERING, 0x0302): ("uint24", 1000),
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
            return ("octets", self.firmware.version)
        return self.mirror.get((cluster, attr)) or CONSUMPTION_FORMAT.get((cluster, attr))

    def update_mirror(self, cluster: int, report: bytes, now: float) -> None:
        """Attribute records of a ZCL Report Attributes from the GSME (id, type, value)."""
        pos = 0
        while pos + 3 <= len(report):
            attr = int.from_bytes(report[pos:pos + 2], "little")
            tag = report[pos + 2]
            size = {0x25: 6, 0x23: 4, 0x21: 2, 0x20: 1, 0x30: 1, 0x18: 1}.get(tag)
            if size is None or pos + 3 + size > len(report):
                return
            value = int.from_bytes(report[pos + 3:pos + 3 + size], "little")
            name = {0x25: "uint48", 0x23: "uint32", 0x21: "uint16", 0x20: "uint8", 0x30: "enum8", 0x18: "bitmap8"}[tag]
            self.mirror[(cluster, attr)] = (name, value)
            pos += 3 + size
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
