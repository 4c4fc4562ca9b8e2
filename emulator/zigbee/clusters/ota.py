"""OTA Upgrade cluster 0x0019 commands (ZCL 11.13; zigbee.md section 6). The meter is the client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from emulator.zigbee.zcl import CLIENT_TO_SERVER, SERVER_TO_CLIENT, ZclCommand, register

CLUSTER_ID = 0x0019

SUCCESS = 0x00
ABORT = 0x95
INVALID_IMAGE = 0x96
WAIT_FOR_DATA = 0x97
NO_IMAGE_AVAILABLE = 0x98
REQUIRE_MORE_IMAGE = 0x99

UPGRADE_NOW = 0
UPGRADE_WAIT = 0xFFFFFFFF

_SCHEMA = tuple[tuple[str, str], ...]


def _is_success(v: dict[str, Any]) -> bool:
    return bool(v.get("status") == SUCCESS)


@dataclass(frozen=True, slots=True)
class ImageNotify(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x00
    DIRECTION: ClassVar[int] = SERVER_TO_CLIENT
    SCHEMA: ClassVar[_SCHEMA] = (("payload_type", "u8"), ("query_jitter", "u8"), ("manufacturer_code", "u16"),
                                 ("image_type", "u16"), ("new_file_version", "u32"))
    PRESENT_IF: ClassVar[dict[str, Any]] = {
        "manufacturer_code": lambda v: v["payload_type"] >= 1,
        "image_type": lambda v: v["payload_type"] >= 2,
        "new_file_version": lambda v: v["payload_type"] >= 3,
    }
    payload_type: int = 3
    query_jitter: int = 100
    manufacturer_code: int = 0
    image_type: int = 0
    new_file_version: int = 0


@dataclass(frozen=True, slots=True)
class QueryNextImage(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x01
    DIRECTION: ClassVar[int] = CLIENT_TO_SERVER
    SCHEMA: ClassVar[_SCHEMA] = (("field_control", "u8"), ("manufacturer_code", "u16"), ("image_type", "u16"),
                                 ("current_file_version", "u32"), ("hardware_version", "u16"))
    PRESENT_IF: ClassVar[dict[str, Any]] = {"hardware_version": lambda v: bool(v["field_control"] & 1)}
    field_control: int
    manufacturer_code: int
    image_type: int
    current_file_version: int
    hardware_version: int = 0


@dataclass(frozen=True, slots=True)
class QueryNextImageResponse(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x02
    DIRECTION: ClassVar[int] = SERVER_TO_CLIENT
    SCHEMA: ClassVar[_SCHEMA] = (("status", "u8"), ("manufacturer_code", "u16"), ("image_type", "u16"),
                                 ("file_version", "u32"), ("image_size", "u32"))
    PRESENT_IF: ClassVar[dict[str, Any]] = {k: _is_success for k in
                                            ("manufacturer_code", "image_type", "file_version", "image_size")}
    status: int
    manufacturer_code: int = 0
    image_type: int = 0
    file_version: int = 0
    image_size: int = 0


@dataclass(frozen=True, slots=True)
class ImageBlockRequest(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x03
    DIRECTION: ClassVar[int] = CLIENT_TO_SERVER
    SCHEMA: ClassVar[_SCHEMA] = (("field_control", "u8"), ("manufacturer_code", "u16"), ("image_type", "u16"),
                                 ("file_version", "u32"), ("file_offset", "u32"), ("maximum_data_size", "u8"),
                                 ("request_node_addr", "eui64"), ("minimum_block_period", "u16"))
    PRESENT_IF: ClassVar[dict[str, Any]] = {
        "request_node_addr": lambda v: bool(v["field_control"] & 1),
        "minimum_block_period": lambda v: bool(v["field_control"] & 2),
    }
    field_control: int
    manufacturer_code: int
    image_type: int
    file_version: int
    file_offset: int
    maximum_data_size: int
    request_node_addr: bytes = b"\x00" * 8
    minimum_block_period: int = 0


@dataclass(frozen=True, slots=True)
class ImageBlockResponse(ZclCommand):
    """Image Block Response; SUCCESS carries data, WAIT_FOR_DATA carries timing, ABORT nothing."""

    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x05
    DIRECTION: ClassVar[int] = SERVER_TO_CLIENT
    SCHEMA: ClassVar[_SCHEMA] = (("status", "u8"), ("manufacturer_code", "u16"), ("image_type", "u16"),
                                 ("file_version", "u32"), ("file_offset", "u32"), ("data", "lbytes"),
                                 ("current_time", "u32"), ("request_time", "u32"), ("minimum_block_period", "u16"))
    PRESENT_IF: ClassVar[dict[str, Any]] = {
        **{k: _is_success for k in ("manufacturer_code", "image_type", "file_version", "file_offset", "data")},
        **{k: (lambda v: v.get("status") == WAIT_FOR_DATA) for k in
           ("current_time", "request_time", "minimum_block_period")},
    }
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
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x06
    DIRECTION: ClassVar[int] = CLIENT_TO_SERVER
    SCHEMA: ClassVar[_SCHEMA] = (("status", "u8"), ("manufacturer_code", "u16"), ("image_type", "u16"),
                                 ("file_version", "u32"))
    status: int
    manufacturer_code: int
    image_type: int
    file_version: int


@dataclass(frozen=True, slots=True)
class UpgradeEndResponse(ZclCommand):
    CLUSTER: ClassVar[int] = CLUSTER_ID
    COMMAND_ID: ClassVar[int] = 0x07
    DIRECTION: ClassVar[int] = SERVER_TO_CLIENT
    SCHEMA: ClassVar[_SCHEMA] = (("manufacturer_code", "u16"), ("image_type", "u16"), ("file_version", "u32"),
                                 ("current_time", "u32"), ("upgrade_time", "u32"))
    manufacturer_code: int
    image_type: int
    file_version: int
    current_time: int
    upgrade_time: int = UPGRADE_WAIT


register(ImageNotify, QueryNextImage, QueryNextImageResponse, ImageBlockRequest, ImageBlockResponse,
         UpgradeEndRequest, UpgradeEndResponse)
