"""OTA Upgrade cluster 0x0019 commands (ZCL chapter 11; zigbee.md section 6).

The meter is the client (0x0019 is in its output clusters) and pulls the image; the
CHF is the server. Optional fields follow a flag field before them (``field_control``,
``payload_type`` or ``status``), expressed as the ``When`` condition in each such field's annotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Annotated, Any

from emulator.zigbee.status import ZclStatus
from emulator.zigbee.types import bitmap8, enum8, eui64_le, sized_octets, uint8, uint16_le, uint32_le, utc_time_le
from emulator.zigbee.zcl import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Presence, When, ZclCommand, register

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
    payload_type: Annotated[int, enum8] = ImageNotifyPayloadType.FILE_VERSION
    query_jitter: Annotated[int, uint8] = 100  # 1-100: the percentage of clients that should query now
    manufacturer_code: Annotated[int, uint16_le, When(_notify_has(ImageNotifyPayloadType.MANUFACTURER_CODE))] = 0
    image_type: Annotated[int, uint16_le, When(_notify_has(ImageNotifyPayloadType.IMAGE_TYPE))] = 0
    new_file_version: Annotated[int, uint32_le, When(_notify_has(ImageNotifyPayloadType.FILE_VERSION))] = 0


@dataclass(frozen=True, slots=True)
class QueryNextImage(ZclCommand):
    """Query Next Image Request."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x01
    DIRECTION = CLIENT_TO_SERVER
    field_control: Annotated[int, bitmap8]
    manufacturer_code: Annotated[int, uint16_le]
    image_type: Annotated[int, uint16_le]
    current_file_version: Annotated[int, uint32_le]
    hardware_version: Annotated[int, uint16_le, When(_flag(QueryNextImageFieldControl.HARDWARE_VERSION_PRESENT))] = 0


_ON_SUCCESS = When(_success)  # the image offer's fields follow a SUCCESS status only
_WAITING = When(_status_is(WAIT_FOR_DATA))
_BLOCK_NODE_ADDRESS = When(_flag(ImageBlockFieldControl.REQUEST_NODE_ADDRESS_PRESENT))
_BLOCK_PERIOD = When(_flag(ImageBlockFieldControl.MINIMUM_BLOCK_PERIOD_PRESENT))
_PAGE_NODE_ADDRESS = When(_flag(ImagePageFieldControl.REQUEST_NODE_ADDRESS_PRESENT))


@dataclass(frozen=True, slots=True)
class QueryNextImageResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x02
    DIRECTION = SERVER_TO_CLIENT
    status: Annotated[int, enum8]
    manufacturer_code: Annotated[int, uint16_le, _ON_SUCCESS] = 0
    image_type: Annotated[int, uint16_le, _ON_SUCCESS] = 0
    file_version: Annotated[int, uint32_le, _ON_SUCCESS] = 0
    image_size: Annotated[int, uint32_le, _ON_SUCCESS] = 0


@dataclass(frozen=True, slots=True)
class ImageBlockRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x03
    DIRECTION = CLIENT_TO_SERVER
    field_control: Annotated[int, bitmap8]
    manufacturer_code: Annotated[int, uint16_le]
    image_type: Annotated[int, uint16_le]
    file_version: Annotated[int, uint32_le]
    file_offset: Annotated[int, uint32_le]
    maximum_data_size: Annotated[int, uint8]
    request_node_addr: Annotated[bytes, eui64_le, _BLOCK_NODE_ADDRESS] = NO_NODE_ADDRESS
    minimum_block_period: Annotated[int, uint16_le, _BLOCK_PERIOD] = 0


@dataclass(frozen=True, slots=True)
class ImagePageRequest(ZclCommand):
    """Image Page Request: the server streams ``page_size`` bytes in blocks ``response_spacing`` ms apart."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x04
    DIRECTION = CLIENT_TO_SERVER
    field_control: Annotated[int, bitmap8]
    manufacturer_code: Annotated[int, uint16_le]
    image_type: Annotated[int, uint16_le]
    file_version: Annotated[int, uint32_le]
    file_offset: Annotated[int, uint32_le]
    maximum_data_size: Annotated[int, uint8]
    page_size: Annotated[int, uint16_le]
    response_spacing: Annotated[int, uint16_le]
    request_node_addr: Annotated[bytes, eui64_le, _PAGE_NODE_ADDRESS] = NO_NODE_ADDRESS


@dataclass(frozen=True, slots=True)
class ImageBlockResponse(ZclCommand):
    """Image Block Response; SUCCESS carries data, WAIT_FOR_DATA carries timing, ABORT nothing."""

    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x05
    DIRECTION = SERVER_TO_CLIENT
    status: Annotated[int, enum8]
    manufacturer_code: Annotated[int, uint16_le, _ON_SUCCESS] = 0
    image_type: Annotated[int, uint16_le, _ON_SUCCESS] = 0
    file_version: Annotated[int, uint32_le, _ON_SUCCESS] = 0
    file_offset: Annotated[int, uint32_le, _ON_SUCCESS] = 0
    data: Annotated[bytes, sized_octets, _ON_SUCCESS] = b""
    current_time: Annotated[int, utc_time_le, _WAITING] = 0
    request_time: Annotated[int, utc_time_le, _WAITING] = 0
    minimum_block_period: Annotated[int, uint16_le, _WAITING] = 0


@dataclass(frozen=True, slots=True)
class UpgradeEndRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x06
    DIRECTION = CLIENT_TO_SERVER
    status: Annotated[int, enum8]
    manufacturer_code: Annotated[int, uint16_le]
    image_type: Annotated[int, uint16_le]
    file_version: Annotated[int, uint32_le]


@dataclass(frozen=True, slots=True)
class UpgradeEndResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x07
    DIRECTION = SERVER_TO_CLIENT
    manufacturer_code: Annotated[int, uint16_le]
    image_type: Annotated[int, uint16_le]
    file_version: Annotated[int, uint32_le]
    current_time: Annotated[int, utc_time_le]
    upgrade_time: Annotated[int, utc_time_le] = UPGRADE_WAIT


@dataclass(frozen=True, slots=True)
class QueryDeviceSpecificFileRequest(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x08
    DIRECTION = CLIENT_TO_SERVER
    request_node_addr: Annotated[bytes, eui64_le]
    manufacturer_code: Annotated[int, uint16_le]
    image_type: Annotated[int, uint16_le]
    file_version: Annotated[int, uint32_le]
    current_zigbee_stack_version: Annotated[int, uint16_le] = 0x0002  # ZigBee PRO


@dataclass(frozen=True, slots=True)
class QueryDeviceSpecificFileResponse(ZclCommand):
    CLUSTER = CLUSTER_ID
    COMMAND_ID = 0x09
    DIRECTION = SERVER_TO_CLIENT
    status: Annotated[int, enum8]
    manufacturer_code: Annotated[int, uint16_le, _ON_SUCCESS] = 0
    image_type: Annotated[int, uint16_le, _ON_SUCCESS] = 0
    file_version: Annotated[int, uint32_le, _ON_SUCCESS] = 0
    image_size: Annotated[int, uint32_le, _ON_SUCCESS] = 0


COMMANDS: tuple[type[ZclCommand], ...] = (
    ImageNotify, QueryNextImage, QueryNextImageResponse, ImageBlockRequest, ImagePageRequest,
    ImageBlockResponse, UpgradeEndRequest, UpgradeEndResponse, QueryDeviceSpecificFileRequest,
    QueryDeviceSpecificFileResponse,
)
register(*COMMANDS)
