"""Large APS payloads on a Z-Stack radio through zigpy-znp, the way TI's MT interface carries them.

zigpy-znp sends every frame inline in one ``AF.DataRequestExt`` (230 data bytes at most) and
ignores ``AF.IncomingMsgExt``; it defines the commands for more but does not use them. This
module uses them through zigpy-znp's own request API (``MT_AF.c`` is the reference):

* Out: ``AF.DataRequestExt`` with only the total length (no data bytes), then the data in
  ``AF.DataStore`` chunks of up to 247 bytes, then a zero-length ``AF.DataStore`` that sends it;
  the chip fragments it on the air (APS fragmentation) and confirms with ``AF.DataConfirm``.
  The chip holds one such request at a time, so these sends are serialised here.
* In: a message of more than 220 bytes is announced by ``AF.IncomingMsgExt`` with its length
  and no data; its frame does not parse in zigpy-znp (the length promises bytes that are not
  there), so the frame is taken before zigpy-znp parses it, the data fetched with
  ``AF.DataRetrieve`` (248 bytes a time), the chip's copy freed, and the whole message handed
  to zigpy-znp's own AF handler as if it had come inline.
* ``AF.APSFConfigSet`` sets the fragmentation window and inter-frame delay per endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from dataclasses import dataclass
from typing import Any

from emulator.znp.commands import INLINE_INCOMING_MAX, INLINE_REQUEST_MAX, RETRIEVE_CHUNK_MAX, STORE_CHUNK_MAX

log = logging.getLogger(__name__)
#: Fragmentation the CHF asks of its Z-Stack: one block per window, 50 ms between frames (Z-Stack's
#: default window is 5; one block at a time is what every Smart Energy device can take).
WINDOW = 1
FRAME_DELAY_MS = 50
CONFIRM_TIMEOUT_S = 30.0  # zigpy-znp's EXTENDED_DATA_CONFIRM_TIMEOUT: a fragmented send takes a while
#: What the adapter asks of the stick: Z-Stack holds a large request whole on its heap; 8 KiB is
#: what the project's fake stick allows and what the CHF relies on (a GBCS command is at most a few KB).
MAX_PAYLOAD = 0x2000


@dataclass(slots=True)
class LargeStats:
    sent: int = 0
    stored_chunks: int = 0
    received: int = 0
    retrieved_chunks: int = 0
    failed: int = 0


def _znp_modules() -> tuple[Any, Any]:
    return importlib.import_module("zigpy_znp.commands"), importlib.import_module("zigpy_znp.types")


class ZnpLargeMessages:
    """Large frames both ways for one started zigpy-znp ControllerApplication ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.stats = LargeStats()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        c, t = _znp_modules()

        class LengthOnly(t.LongBytes):  # type: ignore[misc, name-defined]
            """The data of a held request: its length goes in the frame, its bytes by AF.DataStore."""

            def serialize(self) -> Any:
                return self._header(len(self)).serialize()

        self._length_only = LengthOnly
        self._ext_header = c.AF.IncomingMsgExt.Callback.header

    def install(self) -> None:
        """Take AF.IncomingMsgExt frames before zigpy-znp parses them (it would fail on a held one)."""
        znp = self.app._znp
        original = znp.frame_received

        def frame_received(frame: Any) -> Any:
            if frame.header == self._ext_header:
                self._incoming_ext(bytes(frame.data))
                return True
            return original(frame)

        znp.frame_received = frame_received

    async def configure(self, endpoints: list[int], *, window: int = WINDOW, frame_delay_ms: int = FRAME_DELAY_MS
                        ) -> None:
        c, t = _znp_modules()
        for endpoint in endpoints:
            await self.app._znp.request(c.AF.APSFConfigSet.Req(Endpoint=endpoint, FrameDelay=frame_delay_ms,
                                                               WindowSize=window), RspStatus=t.Status.SUCCESS)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- out ---------------------------------------------------------------------------------
    async def send(self, *, nwk: int, dst_ep: int, src_ep: int, cluster: int, tsn: int, secured: bool,
                   data: bytes) -> None:
        """Send ``data`` (more than 230 bytes) through the chip's data store; raises on any failure."""
        c, t = _znp_modules()
        options = c.af.TransmitOptions.SUPPRESS_ROUTE_DISC_NETWORK | c.af.TransmitOptions.ACK_REQUEST
        if secured:
            options |= c.af.TransmitOptions.ENABLE_SECURITY
        znp = self.app._znp
        async with self._lock:
            await znp.request(c.AF.DataRequestExt.Req(
                DstAddrModeAddress=t.AddrModeAddress(mode=t.AddrMode.NWK, address=nwk), DstEndpoint=dst_ep,
                DstPanId=0x0000, SrcEndpoint=src_ep, ClusterId=cluster, TSN=tsn, Options=options, Radius=0,
                Data=self._length_only(data)), RspStatus=t.Status.SUCCESS)
            for index in range(0, len(data), STORE_CHUNK_MAX):
                chunk = t.ShortBytes(data[index:index + STORE_CHUNK_MAX])
                await znp.request(c.AF.DataStore.Req(Index=index, Data=chunk), RspStatus=t.Status.SUCCESS)
                self.stats.stored_chunks += 1
            async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                confirm = await asyncio.shield(znp.request_callback_rsp(
                    request=c.AF.DataStore.Req(Index=0, Data=t.ShortBytes(b"")), RspStatus=t.Status.SUCCESS,
                    callback=c.AF.DataConfirm.Callback(partial=True, TSN=tsn)))
        if confirm.Status != t.Status.SUCCESS:
            raise RuntimeError(f"the stick confirmed the {len(data)}-byte frame with {confirm.Status!r}")
        self.stats.sent += 1

    # --- in ----------------------------------------------------------------------------------
    def _incoming_ext(self, raw: bytes) -> None:
        try:
            header, data, length = self._parse_ext(raw)
        except ValueError as e:
            self.stats.failed += 1
            log.warning("zigpy-znp: an AF.IncomingMsgExt that does not parse (%s): %s", e, raw.hex())
            return
        task = asyncio.ensure_future(self._deliver(header, data, length))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _parse_ext(self, raw: bytes) -> tuple[dict[str, Any], bytes | None, int]:
        """The header fields of an IncomingMsgExt, its data when inline (None when the chip holds
        it), and the data length. Field by field with zigpy-znp's own types."""
        _, t = _znp_modules()
        fields: dict[str, Any] = {}
        rest = raw
        for name, kind in (("GroupId", t.GroupId), ("ClusterId", t.ClusterId),
                           ("SrcAddrModeAddress", t.AddrModeAddress), ("SrcEndpoint", t.uint8_t),
                           ("SrcPanId", t.PanId), ("DstEndpoint", t.uint8_t), ("WasBroadcast", t.Bool),
                           ("LQI", t.uint8_t), ("SecurityUse", t.Bool), ("TimeStamp", t.uint32_t),
                           ("TSN", t.uint8_t), ("DataLength", t.uint16_t)):
            fields[name], rest = kind.deserialize(rest)
        length = int(fields.pop("DataLength"))
        data: bytes | None
        if len(rest) == length + 3 and length <= INLINE_INCOMING_MAX:
            data, rest = rest[:length], rest[length:]
        elif len(rest) == 3 and length > INLINE_INCOMING_MAX:
            data = None
        else:
            raise ValueError(f"{length} data bytes announced, {len(rest) - 3} present")
        fields["MacSrcAddr"], rest = t.NWK.deserialize(rest)
        fields["MsgResultRadius"], rest = t.uint8_t.deserialize(rest)
        return fields, data, length

    async def _deliver(self, f: dict[str, Any], data: bytes | None, length: int) -> None:
        c, t = _znp_modules()
        znp = self.app._znp
        try:
            if data is None:
                chunks = []
                for index in range(0, length, RETRIEVE_CHUNK_MAX):
                    rsp = await znp.request(c.AF.DataRetrieve.Req(
                        TimeStamp=f["TimeStamp"], Index=index, Length=min(RETRIEVE_CHUNK_MAX, length - index)),
                        RspStatus=t.Status.SUCCESS)
                    chunks.append(bytes(rsp.Data))
                    self.stats.retrieved_chunks += 1
                await znp.request(c.AF.DataRetrieve.Req(TimeStamp=f["TimeStamp"], Index=0, Length=0),
                                  RspStatus=t.Status.SUCCESS)  # frees the chip's copy
                data = b"".join(chunks)
            src = f["SrcAddrModeAddress"]
            nwk = src.address if src.mode == t.AddrMode.NWK else self.app.get_device(ieee=src.address).nwk
        except Exception as e:  # the chip lost it, the radio went away: the sender's retries apply
            self.stats.failed += 1
            log.warning("zigpy-znp: a %d-byte incoming message could not be fetched: %s", length, e)
            return
        self.stats.received += 1
        self.app.packet_received(self._packet(f, nwk, data))

    def _packet(self, f: dict[str, Any], nwk: int, data: bytes) -> Any:
        """The zigpy packet zigpy-znp's own AF handler would make of an inline message (its
        ``AF.IncomingMsg`` type cannot hold more than 255 data bytes, so it is not reused)."""
        zt = importlib.import_module("zigpy.types")
        endpoint = self.app._device.endpoints.get(f["DstEndpoint"]) if f["DstEndpoint"] else None
        profile = endpoint.profile_id if endpoint is not None else 0x0104
        if f["WasBroadcast"]:
            dst = zt.AddrModeAddress(addr_mode=zt.AddrMode.Broadcast,
                                     address=zt.BroadcastAddress.ALL_ROUTERS_AND_COORDINATOR)
        elif f["GroupId"]:
            dst = zt.AddrModeAddress(addr_mode=zt.AddrMode.Group, address=f["GroupId"])
        else:
            dst = zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=self.app.state.node_info.nwk)
        return zt.ZigbeePacket(
            src=zt.AddrModeAddress(addr_mode=zt.AddrMode.NWK, address=zt.NWK(nwk)), src_ep=f["SrcEndpoint"], dst=dst,
            dst_ep=f["DstEndpoint"], tsn=f["TSN"], profile_id=profile, cluster_id=f["ClusterId"],
            data=zt.SerializableBytes(data),
            tx_options=zt.TransmitOptions.APS_Encryption if f["SecurityUse"] else zt.TransmitOptions.NONE,
            radius=f["MsgResultRadius"], lqi=f["LQI"], rssi=None)


def fits_inline(data: bytes) -> bool:
    """Whether zigpy-znp's own send path can carry ``data`` (one AF.DataRequestExt)."""
    return len(data) <= INLINE_REQUEST_MAX
