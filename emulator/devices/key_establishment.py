"""CBKE on the device machines (issue 14 part 3; docs/cbke.md): the CHF as responder for every
device that joins, a meter as initiator towards the CHF right after its install-code join.

Optional per premises (``PremisesProfile.cbke``): when a machine has no key-establishment
object, it behaves as before (the install-code join alone opens the tunnels). When it has one,
the CHF opens an ESME's tunnel, and accepts Tunneling, OTA and Metering frames from a device,
only once CBKE with that device has given a link key; the meter likewise refuses those frames
from the CHF until then, and a GSME opens its tunnel only after CBKE. The key is the APS link
key between the two from then on (``link_keys``). On the virtual bus APS frames stay plaintext
(flagged secured) so pcaps read without keys; what the key protects is modelled by that gate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emulator.devices.base import Output
from emulator.devices.events import CommandRefused, DeviceEvent
from emulator.zigbee import zcl
from emulator.zigbee.cbke import CbkeCredentials, CbkeSession, Role, State
from emulator.zigbee.clusters import key_establishment as ke
from emulator.zigbee.packet import CLUSTER_KEY_ESTABLISHMENT, CLUSTER_OTA, CLUSTER_TUNNELING, HanPacket

CLUSTER_METERING = 0x0702
#: Clusters whose frames need an established CBKE key (the GBCS carriers and the gas mirror).
PROTECTED_CLUSTERS = frozenset({CLUSTER_TUNNELING, CLUSTER_OTA, CLUSTER_METERING})
MAX_SESSIONS = 4  # exchanges the CHF runs at once; one more gets NO_RESOURCES
RETRY_S = 60.0  # a meter whose exchange timed out tries again this much later
MAX_TRIES = 5

PacketMaker = Callable[[bytes, bytes], HanPacket]  # (peer EUI, ZCL frame) -> packet


@dataclass(frozen=True, slots=True)
class KeyEstablished(DeviceEvent):
    """CBKE with ``peer`` succeeded: both hold the same new link key."""

    peer: bytes
    attempt: int


@dataclass(frozen=True, slots=True)
class KeyEstablishmentFailed(DeviceEvent):
    """CBKE with ``peer`` failed; ``status`` is the Terminate status name, or "TIMEOUT"."""

    peer: bytes
    status: str
    reason: str
    by_peer: bool


def _frames(commands: list[zcl.ZclCommand], sequence: int) -> list[bytes]:
    return [command.encode(sequence) for command in commands]


def _outcome(device: bytes, session: CbkeSession, now: float) -> list[DeviceEvent]:
    if session.state is State.ESTABLISHED:
        return [KeyEstablished(device, now, session.peer_eui, session.attempt)]
    failure = session.failure
    if session.state is State.FAILED and failure is not None:
        status = failure.status.name if failure.status is not None else "TIMEOUT"
        return [KeyEstablishmentFailed(device, now, session.peer_eui, status, failure.reason, failure.by_peer)]
    return []


def _decode(packet: HanPacket) -> tuple[zcl.ZclHeader, zcl.ZclCommand | bytes]:
    return zcl.decode_command(CLUSTER_KEY_ESTABLISHMENT, packet.payload)


class ChfKeyEstablishment:
    """The CHF's side: a responder session per device, and the link keys they gave."""

    def __init__(self, eui: bytes, credentials: CbkeCredentials, max_sessions: int = MAX_SESSIONS) -> None:
        self.eui = eui
        self.credentials = credentials
        self.max_sessions = max_sessions
        self.sessions: dict[bytes, CbkeSession] = {}
        self.link_keys: dict[bytes, bytes] = {}
        self._attempts: dict[bytes, int] = {}
        self._initiates: dict[bytes, zcl.ZclCommand] = {}  # the request that opened each exchange

    def established(self, eui: bytes) -> bool:
        return eui in self.link_keys

    def forget(self, eui: bytes) -> None:
        """The device left: its key goes with it (it runs CBKE again when it rejoins)."""
        self.link_keys.pop(eui, None)
        self.sessions.pop(eui, None)

    def gate(self, packet: HanPacket, now: float) -> Output | None:
        """A refusal for a protected frame from a device without a key; None lets it through."""
        if packet.cluster in PROTECTED_CLUSTERS and packet.src not in self.link_keys:
            reason = f"frame on cluster 0x{packet.cluster:04X} from {packet.src.hex().upper()} before CBKE"
            return Output(events=[CommandRefused(self.eui, now, reason, 0)])
        return None

    def on_packet(self, packet: HanPacket, command: zcl.ZclCommand | bytes, sequence: int, now: float,
                  make: PacketMaker) -> tuple[Output, bool]:
        """A Key Establishment frame from a device: (what to send and report, newly established?)."""
        src = packet.src
        if not isinstance(command, zcl.ZclCommand):
            return Output(), False  # a foundation command (attribute read) or one from a later spec
        for open_session in self.sessions.values():
            open_session.handle_timer(now)
        session: CbkeSession | None = self.sessions.get(src)
        if isinstance(command, ke.InitiateKeyEstablishmentRequest) and session is not None and not session.done \
                and command == self._initiates.get(src) and session.state is not State.AWAIT_EPHEMERAL_REQUEST:
            return Output(), False  # a late duplicate of the request that opened this exchange
        if isinstance(command, ke.InitiateKeyEstablishmentRequest) and (
                session is None or session.done or command != self._initiates.get(src)):
            busy = sum(1 for s in self.sessions.values() if not s.done and s.peer_eui != src)
            if busy >= self.max_sessions:
                refusal = ke.TerminateKeyEstablishmentServer(ke.KeyEstablishmentStatus.NO_RESOURCES, 10, ke.SUITE_2)
                return Output(han=[make(src, refusal.encode(sequence))]), False
            attempt = self._attempts.get(src, 0)
            self._attempts[src] = attempt + 1
            session = self.sessions[src] = CbkeSession(Role.RESPONDER, self.credentials, self.eui, src, attempt)
            self._initiates[src] = command
            self.link_keys.pop(src, None)  # a new exchange replaces the old key
        if session is None:
            return Output(events=[CommandRefused(self.eui, now, f"{type(command).__name__} from "
                                                 f"{src.hex().upper()} with no CBKE exchange open", 0)]), False
        was_done = session.done
        out = Output(han=[make(src, frame) for frame in _frames(session.receive(command, now), sequence)])
        if session.done and not was_done:
            out.events.extend(_outcome(self.eui, session, now))
            if session.link_key is not None:
                self.link_keys[src] = session.link_key
                return out, True
        return out, False


class MeterKeyEstablishment:
    """A meter's side: one initiator session towards the CHF at a time, retried after a time-out."""

    def __init__(self, eui: bytes, chf: bytes, credentials: CbkeCredentials) -> None:
        self.eui = eui
        self.chf = chf
        self.credentials = credentials
        self.session: CbkeSession | None = None
        self.link_key: bytes | None = None
        self.attempt = 0
        self.retry_at: float | None = None

    @property
    def established(self) -> bool:
        return self.link_key is not None

    @property
    def pending(self) -> bool:
        """An exchange is running or due again (a sleepy device keeps polling meanwhile)."""
        return self.link_key is None and (self.retry_at is not None or
                                          (self.session is not None and not self.session.done))

    @property
    def deadline(self) -> float | None:
        if self.session is not None and not self.session.done:
            return self.session.deadline
        return self.retry_at

    def gate(self, packet: HanPacket, now: float) -> Output | None:
        if packet.cluster in PROTECTED_CLUSTERS and self.link_key is None:
            reason = f"frame on cluster 0x{packet.cluster:04X} from the CHF before CBKE"
            return Output(events=[CommandRefused(self.eui, now, reason, 0)])
        return None

    def start(self, now: float, sequence: int) -> list[bytes]:
        """Begin an exchange (after joining, or to retry): the Initiate request's frame."""
        self.link_key = None
        self.retry_at = None
        self.session = CbkeSession(Role.INITIATOR, self.credentials, self.eui, self.chf, self.attempt)
        self.attempt += 1
        return _frames(self.session.start(now), sequence)

    def on_command(self, command: zcl.ZclCommand | bytes, sequence: int, now: float) -> tuple[list[bytes],
                                                                                                list[DeviceEvent]]:
        session = self.session
        if session is None or not isinstance(command, zcl.ZclCommand):
            return [], []
        was_done = session.done
        frames = _frames(session.receive(command, now), sequence)
        events: list[DeviceEvent] = []
        if session.done and not was_done:
            events = _outcome(self.eui, session, now)
            self.link_key = session.link_key
            failure = session.failure
            if failure is not None and failure.status is ke.KeyEstablishmentStatus.NO_RESOURCES \
                    and self.attempt < MAX_TRIES:
                self.retry_at = now + max(1, failure.wait_time)
        return frames, events

    def handle_timer(self, now: float) -> tuple[bool, list[DeviceEvent]]:
        """(start a new exchange now?, events): a time-out ends the session; a retry falls due."""
        session = self.session
        events: list[DeviceEvent] = []
        if session is not None and not session.done:
            session.handle_timer(now)
            if session.done:
                events = _outcome(self.eui, session, now)
                if self.attempt < MAX_TRIES:
                    self.retry_at = now + RETRY_S
        if self.retry_at is not None and now >= self.retry_at:
            return True, events
        return False, events
