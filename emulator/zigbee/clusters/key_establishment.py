"""Key Establishment cluster 0x0800: the CBKE exchange (Zigbee SE 1.2 annex C; zigbee.md section 5).

The initiator (the joining device, client) and the responder (the trust centre, here the CHF,
server) use the same command ids in each direction, so the class names carry the sender as in
the Tunneling table: ``...Request`` goes client to server, ``...Response`` server to client.
Initiate carries the sender's implicit certificate (74 bytes for suite 2), Ephemeral Data its
ephemeral public key (37 bytes, compressed), Confirm Key Data its 16-byte MAC. Terminate may go
either way, with a status, a wait time (seconds before trying again) and the suite.
The certificate and ephemeral key are kept as octets here: :mod:`emulator.zigbee.cbke` checks
them, so a bad certificate is refused with the right Terminate status instead of a parse error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from emulator.zigbee.errors import ZigbeeEncodeError
from emulator.zigbee.types import Reader, WireType, bitmap16_le, enum8, rest_of_frame, uint8
from emulator.zigbee.zcl import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Field, ZclCommand, register

CLUSTER_ID = 0x0800
ATTR_KEY_ESTABLISHMENT_SUITE = 0x0000  # server and client attribute, map16
SUITE_1 = 0x0001  # CBKE on sect163k1 (SE 1.0/1.1)
SUITE_2 = 0x0002  # CBKE on sect283k1 (SE 1.2): what GB uses
MAC_LENGTH = 16


class KeyEstablishmentStatus(IntEnum):
    """Terminate Key Establishment status codes (names as Wireshark gives them)."""

    UNKNOWN_ISSUER = 0x01
    BAD_KEY_CONFIRM = 0x02
    BAD_MESSAGE = 0x03
    NO_RESOURCES = 0x04
    UNSUPPORTED_SUITE = 0x05
    INVALID_CERTIFICATE = 0x06


class FixedOctets(WireType[bytes]):
    """Exactly ``size`` octets, no length prefix (the MACs)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.name = f"octets[{size}]"

    def encode(self, value: bytes, field: str) -> bytes:
        if not isinstance(value, bytes | bytearray) or len(value) != self.size:
            raise ZigbeeEncodeError(f"expected exactly {self.size} bytes", field=field)
        return bytes(value)

    def decode(self, reader: Reader, field: str) -> bytes:
        return reader.take(self.size, field)


mac16 = FixedOctets(MAC_LENGTH)
_INITIATE = (Field("key_establishment_suite", bitmap16_le), Field("ephemeral_data_generate_time", uint8),
             Field("confirm_key_generate_time", uint8), Field("identity", rest_of_frame))
_TERMINATE = (Field("status_code", enum8), Field("wait_time", uint8), Field("key_establishment_suite", bitmap16_le))


# --- client to server (initiator to responder) ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class InitiateKeyEstablishmentRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x00
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = _INITIATE
    key_establishment_suite: int
    ephemeral_data_generate_time: int
    confirm_key_generate_time: int
    identity: bytes


@dataclass(frozen=True, slots=True)
class EphemeralDataRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x01
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = (Field("ephemeral_data", rest_of_frame),)
    ephemeral_data: bytes


@dataclass(frozen=True, slots=True)
class ConfirmKeyDataRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x02
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = (Field("secure_message_authentication_code", mac16),)
    secure_message_authentication_code: bytes


@dataclass(frozen=True, slots=True)
class TerminateKeyEstablishmentClient(ZclCommand):
    """Terminate Key Establishment sent by the client (the initiator)."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x03
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = _TERMINATE
    status_code: int
    wait_time: int
    key_establishment_suite: int


# --- server to client (responder to initiator) ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class InitiateKeyEstablishmentResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x00
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = _INITIATE
    key_establishment_suite: int
    ephemeral_data_generate_time: int
    confirm_key_generate_time: int
    identity: bytes


@dataclass(frozen=True, slots=True)
class EphemeralDataResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x01
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = (Field("ephemeral_data", rest_of_frame),)
    ephemeral_data: bytes


@dataclass(frozen=True, slots=True)
class ConfirmKeyDataResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x02
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = (Field("secure_message_authentication_code", mac16),)
    secure_message_authentication_code: bytes


@dataclass(frozen=True, slots=True)
class TerminateKeyEstablishmentServer(ZclCommand):
    """Terminate Key Establishment sent by the server (the responder)."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x03
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = _TERMINATE
    status_code: int
    wait_time: int
    key_establishment_suite: int


register(InitiateKeyEstablishmentRequest, EphemeralDataRequest, ConfirmKeyDataRequest,
         TerminateKeyEstablishmentClient, InitiateKeyEstablishmentResponse, EphemeralDataResponse,
         ConfirmKeyDataResponse, TerminateKeyEstablishmentServer)
