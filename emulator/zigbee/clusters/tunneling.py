"""SE Tunneling cluster 0x0704: the carrier of GBCS on the HAN (SE 1.4 D.6; zigbee.md section 7).

GB rules: protocol 6 (GB-HRGP), manufacturer 0xFFFF, no flow control, 1500-byte
transfers. The CHF is the tunnel client towards an ESME; the GSME opens its own tunnel
to the CHF and pulls queued messages with a header byte in Transfer Data:
``01`` GET, ``02 nn`` GET-RESPONSE (nn messages still waiting), ``03`` PUT.

Most commands exist in both directions with different ids, so the class names carry
the sender: ``TransferDataClient`` is Transfer Data sent by the client (0x02),
``TransferDataServer`` the one sent by the server (0x01).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated

from emulator.zigbee.errors import ZclDecodeError, ZigbeeEncodeError
from emulator.zigbee.types import Reader, WireType, boolean, encode_uint, enum8, rest_of_frame, uint8, uint16_le
from emulator.zigbee.zcl import CLIENT_TO_SERVER, SERVER_TO_CLIENT, ZclCommand, register

CLUSTER_ID = 0x0704
ATTR_CLOSE_TUNNEL_TIMEOUT = 0x0000  # seconds an idle tunnel stays open


class TunnelProtocolId(IntEnum):
    """Tunnel protocol ids (SE 1.4 Tunneling cluster; the names tshark 4.0 gives them)."""

    DLMS_COSEM = 0
    IEC_61107 = 1
    ANSI_C12 = 2
    M_BUS = 3
    SML = 4
    CLIMATE_TALK = 5
    GB_HRGP = 6
    IPV6 = 7
    IPV4 = 8
    NULL = 9
    TEST = 199
    MANUFACTURER_DEFINED = 200  # 200-254


class TunnelStatus(IntEnum):
    SUCCESS = 0
    BUSY = 1
    NO_MORE_TUNNEL_IDS = 2
    PROTOCOL_NOT_SUPPORTED = 3
    FLOW_CONTROL_NOT_SUPPORTED = 4


class TransferDataStatus(IntEnum):
    NO_SUCH_TUNNEL = 0
    WRONG_DEVICE = 1
    DATA_OVERFLOW = 2


PROTOCOL_GB_HRGP = TunnelProtocolId.GB_HRGP
MANUFACTURER_ANY = 0xFFFF  # GB tunnels are not manufacturer specific
MAX_TRANSFER = 1500  # GBCS: the largest GBCS message either side accepts

STATUS_SUCCESS = TunnelStatus.SUCCESS
STATUS_BUSY = TunnelStatus.BUSY
STATUS_NO_MORE_TUNNEL_IDS = TunnelStatus.NO_MORE_TUNNEL_IDS


@dataclass(frozen=True, slots=True)
class SupportedProtocol:
    """One entry of a Supported Tunnel Protocols Response."""

    manufacturer_code: int
    protocol_id: int


class _ProtocolList(WireType[tuple[SupportedProtocol, ...]]):
    """A uint8 count, then {manufacturer_code uint16, protocol_id enum8} per entry."""

    name = "protocol list"

    def encode(self, value: tuple[SupportedProtocol, ...], field: str) -> bytes:
        out = bytearray(encode_uint(len(value), 1, f"{field}.count"))
        for entry in value:
            out += encode_uint(entry.manufacturer_code, 2, f"{field}.manufacturer_code")
            out += encode_uint(entry.protocol_id, 1, f"{field}.protocol_id")
        return bytes(out)

    def decode(self, reader: Reader, field: str) -> tuple[SupportedProtocol, ...]:
        count = reader.take(1, f"{field}.count")[0]
        return tuple(SupportedProtocol(reader.uint(2, f"{field}.manufacturer_code"),
                                       reader.take(1, f"{field}.protocol_id")[0]) for _ in range(count))


# --- client to server ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RequestTunnel(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x00
    DIRECTION = CLIENT_TO_SERVER
    protocol_id: Annotated[int, enum8] = PROTOCOL_GB_HRGP
    manufacturer_code: Annotated[int, uint16_le] = MANUFACTURER_ANY
    flow_control_support: Annotated[bool, boolean] = False
    max_incoming_transfer_size: Annotated[int, uint16_le] = MAX_TRANSFER


@dataclass(frozen=True, slots=True)
class CloseTunnel(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x01
    DIRECTION = CLIENT_TO_SERVER
    tunnel_id: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class TransferDataClient(ZclCommand):
    """Transfer Data sent by the client (0x02)."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x02
    DIRECTION = CLIENT_TO_SERVER
    tunnel_id: Annotated[int, uint16_le]
    data: Annotated[bytes, rest_of_frame]


@dataclass(frozen=True, slots=True)
class TransferDataErrorClient(ZclCommand):
    """Transfer Data Error sent by the client (0x03): the server's data could not be taken."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x03
    DIRECTION = CLIENT_TO_SERVER
    tunnel_id: Annotated[int, uint16_le]
    transfer_data_status: Annotated[int, enum8]


@dataclass(frozen=True, slots=True)
class AckTransferDataClient(ZclCommand):
    """Ack Transfer Data sent by the client (0x04); only used with flow control."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x04
    DIRECTION = CLIENT_TO_SERVER
    tunnel_id: Annotated[int, uint16_le]
    num_octets_left: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class ReadyDataClient(ZclCommand):
    """Ready Data sent by the client (0x05); only used with flow control."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x05
    DIRECTION = CLIENT_TO_SERVER
    tunnel_id: Annotated[int, uint16_le]
    num_octets_left: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class GetSupportedTunnelProtocols(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x06
    DIRECTION = CLIENT_TO_SERVER
    protocol_offset: Annotated[int, uint8] = 0


# --- server to client ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RequestTunnelResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x00
    DIRECTION = SERVER_TO_CLIENT
    tunnel_id: Annotated[int, uint16_le]
    tunnel_status: Annotated[int, enum8] = STATUS_SUCCESS
    max_incoming_transfer_size: Annotated[int, uint16_le] = MAX_TRANSFER


@dataclass(frozen=True, slots=True)
class TransferDataServer(ZclCommand):
    """Transfer Data sent by the server (0x01)."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x01
    DIRECTION = SERVER_TO_CLIENT
    tunnel_id: Annotated[int, uint16_le]
    data: Annotated[bytes, rest_of_frame]


@dataclass(frozen=True, slots=True)
class TransferDataErrorServer(ZclCommand):
    """Transfer Data Error sent by the server (0x02)."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x02
    DIRECTION = SERVER_TO_CLIENT
    tunnel_id: Annotated[int, uint16_le]
    transfer_data_status: Annotated[int, enum8]


@dataclass(frozen=True, slots=True)
class AckTransferDataServer(ZclCommand):
    """Ack Transfer Data sent by the server (0x03)."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x03
    DIRECTION = SERVER_TO_CLIENT
    tunnel_id: Annotated[int, uint16_le]
    num_octets_left: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class ReadyDataServer(ZclCommand):
    """Ready Data sent by the server (0x04)."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x04
    DIRECTION = SERVER_TO_CLIENT
    tunnel_id: Annotated[int, uint16_le]
    num_octets_left: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class SupportedTunnelProtocolsResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x05
    DIRECTION = SERVER_TO_CLIENT
    protocol_list_complete: Annotated[bool, boolean]
    protocols: Annotated[tuple[SupportedProtocol, ...], _ProtocolList()]


@dataclass(frozen=True, slots=True)
class TunnelClosureNotification(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x06
    DIRECTION = SERVER_TO_CLIENT
    tunnel_id: Annotated[int, uint16_le]


COMMANDS: tuple[type[ZclCommand], ...] = (
    RequestTunnel, CloseTunnel, TransferDataClient, TransferDataErrorClient, AckTransferDataClient,
    ReadyDataClient, GetSupportedTunnelProtocols,
    RequestTunnelResponse, TransferDataServer, TransferDataErrorServer, AckTransferDataServer,
    ReadyDataServer, SupportedTunnelProtocolsResponse, TunnelClosureNotification,
)
register(*COMMANDS)


# --- the GB header inside Transfer Data (GSME only) ---------------------------------------

class GbTunnelCommand(IntEnum):
    """First byte of a GSME tunnel payload: the GSME's GET/PUT pull model (GBCS v0.8 10.2.2,
    as quoted in zigbee.md section 7)."""

    GET = 0x01
    GET_RESPONSE = 0x02
    PUT = 0x03


GB_GET = GbTunnelCommand.GET
GB_GET_RESPONSE = GbTunnelCommand.GET_RESPONSE
GB_PUT = GbTunnelCommand.PUT


@dataclass(frozen=True, slots=True)
class GbTunnelMessage:
    """A GSME tunnel payload: the GB header, then the opaque GBCS bytes."""

    command: GbTunnelCommand
    gbcs: bytes = b""
    remaining: int = 0
    """GET-RESPONSE only: messages still queued for the GSME after this one."""

    def encode(self) -> bytes:
        if self.command is GbTunnelCommand.GET_RESPONSE:
            return bytes((self.command,)) + encode_uint(self.remaining, 1, "gb.remaining") + self.gbcs
        if self.remaining:
            raise ZigbeeEncodeError("only GET-RESPONSE carries a remaining count", field="gb.remaining")
        return bytes((self.command,)) + self.gbcs

    @classmethod
    def decode(cls, data: bytes) -> GbTunnelMessage:
        r = Reader(data)
        kind = r.take(1, "gb.header")[0]
        try:
            command = GbTunnelCommand(kind)
        except ValueError:
            raise ZclDecodeError(f"unknown GB tunnel header 0x{kind:02X}", field="gb.header", offset=0) from None
        remaining = r.take(1, "gb.remaining")[0] if command is GbTunnelCommand.GET_RESPONSE else 0
        return cls(command, r.rest(), remaining)


def gb_get() -> bytes:
    return GbTunnelMessage(GB_GET).encode()


def gb_put(gbcs: bytes) -> bytes:
    return GbTunnelMessage(GB_PUT, gbcs).encode()


def gb_get_response(gbcs: bytes, remaining: int) -> bytes:
    # The count is one byte: a longer queue reads as 255 ("more"), which is all the GSME needs.
    return GbTunnelMessage(GB_GET_RESPONSE, gbcs, min(remaining, 0xFF)).encode()


def split_gb_header(data: bytes) -> tuple[int, int, bytes]:
    """(header byte, remaining count or 0, GBCS bytes) of a GSME tunnel payload."""
    msg = GbTunnelMessage.decode(data)
    return msg.command, msg.remaining, msg.gbcs
