"""SE Tunneling cluster 0x0704: the carrier of GBCS on the HAN (zigbee.md section 7).

GB rules: protocol 6 (GB-HRGP), manufacturer 0xFFFF, no flow control, 1500-byte
transfers. The CHF is the tunnel client towards an ESME; the GSME opens its own tunnel
to the CHF and pulls queued messages with a one-byte header in Transfer Data:
``01`` GET, ``02 nn`` GET-RESPONSE (nn messages still waiting), ``03`` PUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emulator.zigbee.errors import ZclDecodeError
from emulator.zigbee.zcl import CLIENT_TO_SERVER, SERVER_TO_CLIENT, ZclCommand, register

CLUSTER_ID = 0x0704
PROTOCOL_GB_HRGP = 6
MANUFACTURER_ANY = 0xFFFF
MAX_TRANSFER = 1500

STATUS_SUCCESS = 0
STATUS_BUSY = 1
STATUS_NO_MORE_TUNNEL_IDS = 2

GB_GET = 0x01
GB_GET_RESPONSE = 0x02
GB_PUT = 0x03


@dataclass(frozen=True, slots=True)
class RequestTunnel(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x00
    DIRECTION: ClassVar[int] = CLIENT_TO_SERVER
    SCHEMA: ClassVar[tuple[tuple[str, str], ...]] = (
        ("protocol_id", "u8"), ("manufacturer_code", "u16"), ("flow_control_support", "bool"),
        ("max_incoming_transfer_size", "u16"))
    protocol_id: int = PROTOCOL_GB_HRGP
    manufacturer_code: int = MANUFACTURER_ANY
    flow_control_support: bool = False
    max_incoming_transfer_size: int = MAX_TRANSFER


@dataclass(frozen=True, slots=True)
class RequestTunnelResponse(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x00
    DIRECTION: ClassVar[int] = SERVER_TO_CLIENT
    SCHEMA: ClassVar[tuple[tuple[str, str], ...]] = (
        ("tunnel_id", "u16"), ("tunnel_status", "u8"), ("max_incoming_transfer_size", "u16"))
    tunnel_id: int
    tunnel_status: int = STATUS_SUCCESS
    max_incoming_transfer_size: int = MAX_TRANSFER


@dataclass(frozen=True, slots=True)
class TransferDataClient(ZclCommand):
    """Transfer Data, client to server (0x02)."""

    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x02
    DIRECTION: ClassVar[int] = CLIENT_TO_SERVER
    SCHEMA: ClassVar[tuple[tuple[str, str], ...]] = (("tunnel_id", "u16"), ("data", "bytes"))
    tunnel_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class TransferDataServer(ZclCommand):
    """Transfer Data, server to client (0x01)."""

    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x01
    DIRECTION: ClassVar[int] = SERVER_TO_CLIENT
    SCHEMA: ClassVar[tuple[tuple[str, str], ...]] = (("tunnel_id", "u16"), ("data", "bytes"))
    tunnel_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class CloseTunnel(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x01
    DIRECTION: ClassVar[int] = CLIENT_TO_SERVER
    SCHEMA: ClassVar[tuple[tuple[str, str], ...]] = (("tunnel_id", "u16"),)
    tunnel_id: int


@dataclass(frozen=True, slots=True)
class TransferDataError(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x02
    DIRECTION: ClassVar[int] = SERVER_TO_CLIENT
    SCHEMA: ClassVar[tuple[tuple[str, str], ...]] = (("tunnel_id", "u16"), ("status", "u8"))
    tunnel_id: int
    status: int


register(RequestTunnel, RequestTunnelResponse, TransferDataClient, TransferDataServer, CloseTunnel,
         TransferDataError)


def gb_get() -> bytes:
    return bytes((GB_GET,))


def gb_put(gbcs: bytes) -> bytes:
    return bytes((GB_PUT,)) + gbcs


def gb_get_response(gbcs: bytes, remaining: int) -> bytes:
    return bytes((GB_GET_RESPONSE, min(remaining, 255))) + gbcs


def split_gb_header(data: bytes) -> tuple[int, int, bytes]:
    """(header byte, remaining count or 0, GBCS bytes) of a GSME tunnel payload."""
    if not data:
        raise ZclDecodeError("empty GB tunnel payload", field="gb_header", offset=0)
    kind = data[0]
    if kind == GB_GET:
        return kind, 0, data[1:]
    if kind == GB_GET_RESPONSE:
        if len(data) < 2:
            raise ZclDecodeError("GET-RESPONSE lacks its count", field="gb_header", offset=1)
        return kind, data[1], data[2:]
    if kind == GB_PUT:
        return kind, 0, data[1:]
    raise ZclDecodeError(f"unknown GB tunnel header 0x{kind:02X}", field="gb_header", offset=0)
