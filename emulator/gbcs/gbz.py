"""GBZ payloads of GSME and GPF messages: ZCL frames in a GBCS wrapper (GBCS 7.2, Zigbee SE).

Layout: ``01 09`` (SE profile), component count, then per component: control
(0x01 last, 0x02 encrypted, 0x10 from-date-time present), cluster id (2, big-endian),
length (2, big-endian), then the body: an optional 4-byte from-date-time and a ZCL
frame (frame control, [manufacturer code], sequence, command id, little-endian fields),
or, encrypted, a 5-byte additional header, a 2-byte length and the ``31...`` part.
An alert is ``01 09``, the count of components that follow, alert code (2) and a
4-byte timestamp (seconds since 2000-01-01 UTC), then those components.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.gbcs.errors import DecodeError, EncodeError, TruncatedError
from emulator.zigbee import zcl
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.jsonvalue import Json, JsonObject

HEADER = b"\x01\x09"
LAST = 0x01
ENCRYPTED = 0x02
FROM_DATE_TIME = 0x10
EPOCH_2000 = 946684800  # 2000-01-01T00:00:00Z in Unix seconds

CLUSTER_NAMES = {0x0700: "Price", 0x0702: "Metering", 0x0703: "Messaging", 0x0705: "Prepayment",
                 0x0707: "Calendar", 0x0708: "Device Management", 0x0709: "Events", 0x0019: "OTA"}


@dataclass(frozen=True, slots=True)
class Component:
    cluster: int
    body: bytes
    """Everything after the length: [from-date-time] + ZCL frame, or the encrypted form."""
    control: int = 0

    @property
    def encrypted(self) -> bool:
        return bool(self.control & ENCRYPTED)

    @property
    def from_date_time(self) -> int | None:
        if self.control & FROM_DATE_TIME and len(self.body) >= 4:
            return int.from_bytes(self.body[:4], "little")
        return None

    @property
    def frame(self) -> bytes:
        """The ZCL frame's bytes (after the from-date-time, if any) of a plaintext component."""
        if self.encrypted:
            raise DecodeError("component is encrypted", field="gbz.component", offset=0)
        return self.body[4:] if self.control & FROM_DATE_TIME else self.body

    def zcl(self) -> zcl.ZclFrame:
        """The component's ZCL frame, read by the one ZCL codec (errors become GBCS decode errors)."""
        frame = self.frame
        try:
            return zcl.ZclFrame.decode(frame)
        except ZigbeeError as e:
            raise DecodeError(f"ZCL frame: {e.message}", field="gbz.zcl", offset=e.offset) from e

    def encrypted_part(self) -> tuple[bytes, bytes]:
        """(additional header, the ``31...`` ciphertext part) of an encrypted component."""
        if len(self.body) < 7:
            raise TruncatedError("encrypted component too short", field="gbz.component", offset=0)
        n = int.from_bytes(self.body[5:7], "big")
        if 7 + n != len(self.body):
            raise DecodeError("encrypted component length does not match", field="gbz.component", offset=5)
        return self.body[:5], self.body[7:]

    def encode(self, last: bool) -> bytes:
        control = (self.control & ~LAST) | (LAST if last else 0)
        return bytes((control,)) + self.cluster.to_bytes(2, "big") + len(self.body).to_bytes(2, "big") + self.body


ADDITIONAL_HEADER_CONTROL, ADDITIONAL_FRAME_COUNTER = 0x00, 0x00


def encrypted_component(cluster: int, header: zcl.ZclHeader, part: bytes) -> Component:
    """An encrypted component: the additional header (control, frame counter, then the plaintext
    ZCL header), the ciphered part's length and the ``31 ...`` part that holds the ZCL payload."""
    extra = bytes((ADDITIONAL_HEADER_CONTROL, ADDITIONAL_FRAME_COUNTER)) + header.encode()
    return Component(cluster, extra + len(part).to_bytes(2, "big") + part, ENCRYPTED)


@dataclass(frozen=True, slots=True)
class GbzPayload:
    components: tuple[Component, ...]
    alert_code: int | None = None
    alert_time: int | None = None  # seconds since 2000-01-01 UTC
    last_flags: tuple[bool, ...] = ()  # the LAST bit as sent, so a decode re-encodes exactly
    alert_extra: bytes = b""
    """Alert bytes after the timestamp that are not plain components (future-dated outcome
    alerts carry the original message code and counter there); kept raw, count kept as sent."""
    alert_count: int | None = None

    def encode(self) -> bytes:
        if len(self.components) > 255:
            raise EncodeError("more than 255 GBZ components", field="gbz.count")
        count = self.alert_count if self.alert_count is not None else len(self.components)
        out = bytearray(HEADER) + bytes((count,))
        if self.alert_code is not None:
            out += self.alert_code.to_bytes(2, "big") + (self.alert_time or 0).to_bytes(4, "little")
            out += self.alert_extra
        n = len(self.components)
        for i, c in enumerate(self.components):
            last = self.last_flags[i] if i < len(self.last_flags) else i == n - 1
            out += c.encode(last)
        return bytes(out)

    def to_tree(self, components: list[JsonObject] | None = None) -> JsonObject:
        """The payload as a tree; ``components`` replaces :meth:`component_trees` (a caller that opens
        the encrypted parts adds what it found to them)."""
        comps: list[Json] = list(components if components is not None else self.component_trees())
        tree: JsonObject = {"kind": "gbz", "components": comps}
        if self.alert_code is not None:
            tree.update(alert_code=f"0x{self.alert_code:04X}", alert_time=self.alert_time)
            if self.alert_extra:
                tree["alert_extra"] = self.alert_extra.hex().upper()
        return tree

    def component_trees(self) -> list[JsonObject]:
        comps: list[JsonObject] = []
        for c in self.components:
            item: JsonObject = {"cluster": f"0x{c.cluster:04X}", "cluster_name": CLUSTER_NAMES.get(c.cluster)}
            if c.encrypted:
                item["encrypted"] = c.body.hex().upper()
            else:
                try:
                    z = c.zcl()
                    item.update(command=f"0x{z.header.command_id:02X}", sequence=z.header.sequence,
                                cluster_specific=z.header.cluster_specific, payload=z.payload.hex().upper())
                except DecodeError as e:
                    item["error"] = str(e)
            if c.from_date_time is not None:
                item["from_date_time"] = c.from_date_time
            comps.append(item)
        return comps


def decode(data: bytes, *, alert: bool = False) -> GbzPayload:
    """Decode a GBZ payload; ``alert`` for the alert form (CRA alert with a GBZ payload)."""
    if data[:2] != HEADER:
        raise DecodeError("GBZ payload must start 0109", field="gbz.header", offset=0)
    if len(data) < 3:
        raise TruncatedError("GBZ payload ends before the component count", field="gbz.count", offset=2)
    count = data[2]
    pos = 3
    code = when = None
    if alert:
        if len(data) < 9:
            raise TruncatedError("GBZ alert ends inside code and timestamp", field="gbz.alert", offset=3)
        code, when, pos = int.from_bytes(data[3:5], "big"), int.from_bytes(data[5:9], "little"), 9
        try:
            comps, lasts = _components(data, pos, count)
        except DecodeError:
            return GbzPayload((), code, when, (), data[9:], count)
        return GbzPayload(tuple(comps), code, when, tuple(lasts))
    comps, lasts = _components(data, pos, count)
    return GbzPayload(tuple(comps), code, when, tuple(lasts))


def _components(data: bytes, pos: int, count: int) -> tuple[list[Component], list[bool]]:
    comps, lasts = [], []
    for i in range(count):
        if pos + 5 > len(data):
            raise TruncatedError("ends inside a component header", field=f"gbz.components[{i}]", offset=pos)
        control = data[pos]
        cluster = int.from_bytes(data[pos + 1:pos + 3], "big")
        n = int.from_bytes(data[pos + 3:pos + 5], "big")
        if pos + 5 + n > len(data):
            raise TruncatedError(f"component length {n} runs past the end", field=f"gbz.components[{i}]",
                                 offset=pos + 3)
        comps.append(Component(cluster, data[pos + 5:pos + 5 + n], control & ~LAST))
        lasts.append(bool(control & LAST))
        pos += 5 + n
    if pos != len(data):
        raise DecodeError(f"{len(data) - pos} bytes after the last component", field="gbz.end", offset=pos)
    return comps, lasts


def alert_payload(code: int, when_unix: float) -> bytes:
    """A GBZ alert with no components."""
    return GbzPayload((), code, int(when_unix) - EPOCH_2000).encode()
