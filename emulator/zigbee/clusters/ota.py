"""OTA Upgrade cluster 0x0019 commands (ZCL chapter 11; zigbee.md section 6).

The meter is the client (0x0019 is in its output clusters) and pulls the image; the
CHF is the server. Optional fields follow a flag field before them (``field_control``,
``payload_type`` or ``status``), expressed as the ``present_if`` of each schema row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from emulator.zigbee.status import ZclStatus
from emulator.zigbee.types import bitmap8, enum8, eui64_le, sized_octets, uint8, uint16_le, uint32_le, utc_time_le
from emulator.zigbee.zcl import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Field, Presence, ZclCommand, register

CLUSTER_ID = 0x0019

SUCCESS = ZclStatus.SUCCESS
ABORT = ZclStatus.ABORT
INVALID_IMAGE = ZclStatus.INVALID_IMAGE
WAIT_FOR_DATA = ZclStatus.WAIT_FOR_DATA
NO_IMAGE_AVAILABLE = ZclStatus.NO_IMAGE_AVAILABLE
REQUIRE_MORE_IMAGE = ZclStatus.REQUIRE_MORE_IMAGE

UPGRADE_NOW = 0  # Upgrade End Response upgrade_time: apply at once
UPGRADE_WAIT = 0xFFFFFFFF  # ... or wait for a later command (GB: the separate Activate Firmware)

NO_NODE_ADDRESS = bytes(8)


class Attribute(IntEnum):
    """OTA client attributes."""

    UPGRADE_SERVER_ID = 0x0000
    FILE_OFFSET = 0x0001
    CURRENT_FILE_VERSION = 0x0002
    CURRENT_ZIGBEE_STACK_VERSION = 0x0003
    DOWNLOADED_FILE_VERSION = 0x0004
    DOWNLOADED_ZIGBEE_STACK_VERSION = 0x0005
    IMAGE_UPGRADE_STATUS = 0x0006
    MANUFACTURER_ID = 0x0007
    IMAGE_TYPE_ID = 0x0008
    MINIMUM_BLOCK_PERIOD = 0x0009


class ImageUpgradeStatus(IntEnum):
    NORMAL = 0
    DOWNLOAD_IN_PROGRESS = 1
    DOWNLOAD_COMPLETE = 2
    WAITING_TO_UPGRADE = 3
    COUNT_DOWN = 4
    WAIT_FOR_MORE = 5


class ImageNotifyPayloadType(IntEnum):
    """How many of the optional Image Notify fields follow the query jitter."""

    QUERY_JITTER = 0
    MANUFACTURER_CODE = 1
    IMAGE_TYPE = 2
    FILE_VERSION = 3


class QueryNextImageFieldControl(IntFlag):
    HARDWARE_VERSION_PRESENT = 0x01


class ImageBlockFieldControl(IntFlag):
    REQUEST_NODE_ADDRESS_PRESENT = 0x01
    MINIMUM_BLOCK_PERIOD_PRESENT = 0x02


class ImagePageFieldControl(IntFlag):
    REQUEST_NODE_ADDRESS_PRESENT = 0x01


def _notify_has(level: int) -> Presence:
    return lambda v: v["payload_type"] >= level


def _flag(bit: int) -> Presence:
    return lambda v: bool(v["field_control"] & bit)


def _status_is(status: int) -> Presence:
    return lambda v: v["status"] == status


def _success(v: Mapping[str, Any]) -> bool:
    return bool(v["status"] == SUCCESS)


@dataclass(frozen=True, slots=True)
class ImageNotify(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x00
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = (Field("payload_type", enum8), Field("query_jitter", uint8),
              Field("manufacturer_code", uint16_le, _notify_has(ImageNotifyPayloadType.MANUFACTURER_CODE)),
              Field("image_type", uint16_le, _notify_has(ImageNotifyPayloadType.IMAGE_TYPE)),
              Field("new_file_version", uint32_le, _notify_has(ImageNotifyPayloadType.FILE_VERSION)))
    payload_type: int = ImageNotifyPayloadType.FILE_VERSION
    query_jitter: int = 100  # 1-100: the percentage of clients that should query now
    manufacturer_code: int = 0
    image_type: int = 0
    new_file_version: int = 0


@dataclass(frozen=True, slots=True)
class QueryNextImage(ZclCommand):
    """Query Next Image Request."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x01
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = (Field("field_control", bitmap8), Field("manufacturer_code", uint16_le),
              Field("image_type", uint16_le), Field("current_file_version", uint32_le),
              Field("hardware_version", uint16_le, _flag(QueryNextImageFieldControl.HARDWARE_VERSION_PRESENT)))
    field_control: int
    manufacturer_code: int
    image_type: int
    current_file_version: int
    hardware_version: int = 0


_IMAGE_OFFER = (Field("status", enum8), Field("manufacturer_code", uint16_le, _success),
                Field("image_type", uint16_le, _success), Field("file_version", uint32_le, _success),
                Field("image_size", uint32_le, _success))


@dataclass(frozen=True, slots=True)
class QueryNextImageResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x02
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = _IMAGE_OFFER
    status: int
    manufacturer_code: int = 0
    image_type: int = 0
    file_version: int = 0
    image_size: int = 0


@dataclass(frozen=True, slots=True)
class ImageBlockRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x03
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = (Field("field_control", bitmap8), Field("manufacturer_code", uint16_le),
              Field("image_type", uint16_le), Field("file_version", uint32_le), Field("file_offset", uint32_le),
              Field("maximum_data_size", uint8),
              Field("request_node_addr", eui64_le, _flag(ImageBlockFieldControl.REQUEST_NODE_ADDRESS_PRESENT)),
              Field("minimum_block_period", uint16_le, _flag(ImageBlockFieldControl.MINIMUM_BLOCK_PERIOD_PRESENT)))
    field_control: int
    manufacturer_code: int
    image_type: int
    file_version: int
    file_offset: int
    maximum_data_size: int
    request_node_addr: bytes = NO_NODE_ADDRESS
    minimum_block_period: int = 0


@dataclass(frozen=True, slots=True)
class ImagePageRequest(ZclCommand):
    """Image Page Request: the server streams ``page_size`` bytes in blocks ``response_spacing`` ms apart."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x04
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = (Field("field_control", bitmap8), Field("manufacturer_code", uint16_le),
              Field("image_type", uint16_le), Field("file_version", uint32_le), Field("file_offset", uint32_le),
              Field("maximum_data_size", uint8), Field("page_size", uint16_le),
              Field("response_spacing", uint16_le),
              Field("request_node_addr", eui64_le, _flag(ImagePageFieldControl.REQUEST_NODE_ADDRESS_PRESENT)))
    field_control: int
    manufacturer_code: int
    image_type: int
    file_version: int
    file_offset: int
    maximum_data_size: int
    page_size: int
    response_spacing: int
    request_node_addr: bytes = NO_NODE_ADDRESS


@dataclass(frozen=True, slots=True)
class ImageBlockResponse(ZclCommand):
    """Image Block Response; SUCCESS carries data, WAIT_FOR_DATA carries timing, ABORT nothing."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x05
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = (*_IMAGE_OFFER[:4], Field("file_offset", uint32_le, _success),
              Field("data", sized_octets, _success),
              Field("current_time", utc_time_le, _status_is(WAIT_FOR_DATA)),
              Field("request_time", utc_time_le, _status_is(WAIT_FOR_DATA)),
              Field("minimum_block_period", uint16_le, _status_is(WAIT_FOR_DATA)))
    status: int
    manufacturer_code: int = 0
    image_type: int = 0
    file_version: int = 0
    file_offset: int = 0
    data: bytes = b""
    current_time: int = 0
    request_time: int = 0
    minimum_block_period: int = 0


@dataclass(frozen=True, slots=True)
class UpgradeEndRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x06
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = (Field("status", enum8), Field("manufacturer_code", uint16_le), Field("image_type", uint16_le),
              Field("file_version", uint32_le))
    status: int
    manufacturer_code: int
    image_type: int
    file_version: int


@dataclass(frozen=True, slots=True)
class UpgradeEndResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x07
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = (Field("manufacturer_code", uint16_le), Field("image_type", uint16_le),
              Field("file_version", uint32_le), Field("current_time", utc_time_le),
              Field("upgrade_time", utc_time_le))
    manufacturer_code: int
    image_type: int
    file_version: int
    current_time: int
    upgrade_time: int = UPGRADE_WAIT


@dataclass(frozen=True, slots=True)
class QueryDeviceSpecificFileRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x08
    DIRECTION = CLIENT_TO_SERVER
    SCHEMA = (Field("request_node_addr", eui64_le), Field("manufacturer_code", uint16_le),
              Field("image_type", uint16_le), Field("file_version", uint32_le),
              Field("current_zigbee_stack_version", uint16_le))
    request_node_addr: bytes
    manufacturer_code: int
    image_type: int
    file_version: int
    current_zigbee_stack_version: int = 0x0002  # ZigBee PRO


@dataclass(frozen=True, slots=True)
class QueryDeviceSpecificFileResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x09
    DIRECTION = SERVER_TO_CLIENT
    SCHEMA = _IMAGE_OFFER
    status: int
    manufacturer_code: int = 0
    image_type: int = 0
    file_version: int = 0
    image_size: int = 0


COMMANDS: tuple[type[ZclCommand], ...] = (
    ImageNotify, QueryNextImage, QueryNextImageResponse, ImageBlockRequest, ImagePageRequest,
    ImageBlockResponse, UpgradeEndRequest, UpgradeEndResponse, QueryDeviceSpecificFileRequest,
    QueryDeviceSpecificFileResponse,
)
register(*COMMANDS)
