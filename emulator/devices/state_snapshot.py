"""What a device must not lose across a restart, as typed snapshots (issue 15.7; DV-3, DV-5, IC-1).

A meter keeps its originator counters (a replay after a restart is still refused, DV-3), its
alert counter, its trust anchors and the keys they name (credentials changed by CS02), the
devices it has joined with, and its firmware: the version it runs, a verified image held for
CS06, a future-dated activation, and a download in progress with the blocks it holds (a
meter restarted mid-OTA resumes from there, DV-5). The CHF keeps its device log (which devices
may join, with which key: IC-1), the images it serves, and the same security state; the GPF,
hosted by the CHF, its own. Registers and logs come from the deterministic load model, so they
are not kept; neither is a future-dated CS02b (it is refused again rather than half-restored).

Sans-IO: :func:`snapshot` / :func:`restore` turn a machine into a frozen dataclass and back,
:func:`encode` / :func:`decode` turn that into bytes (JSON) and back; writing them is the
adapter's business. :class:`SaveSchedule` says *when*: at once after what must never be lost
(an accepted command moved a counter, an alert was numbered, the device log changed, an image
was verified, held or activated), and at most every ``batch_s`` while blocks arrive (a block or
two more is fetched again after a crash; a write per 50-byte block would be a disk's worth of
writes per image).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from typing import Union

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices.base import Output
from emulator.devices.chf import Chf, HeldFirmware
from emulator.devices.device_log import DeviceLogEntry, EntryState
from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.events import (
    AlertRaised,
    CommandAccepted,
    DeviceEvent,
    DeviceLogChanged,
    FirmwareActivated,
    FirmwareBlockReceived,
    FirmwareTransferEnded,
    ImageDistributed,
)
from emulator.devices.firmware import Download, FirmwareState, HeldImage
from emulator.devices.gpf import Gpf
from emulator.devices.meter import Meter
from emulator.gbcs import credentials as cred
from emulator.gbcs.keys import PartyKey, Usage

FORMAT = 1


class StateError(ValueError):
    """A state snapshot that cannot be read or does not fit the device; the message says which part."""


# --- the snapshots ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KeySnapshot:
    eui: bytes
    usage: str
    public: bytes  # X9.62 uncompressed point
    private: int | None  # the private scalar, when the device holds it
    certificate: bytes | None


@dataclass(frozen=True, slots=True)
class CellSnapshot:
    role: int
    key_usage: bytes
    cell_usage: int
    holder: bytes


@dataclass(frozen=True, slots=True)
class EndpointSnapshot:
    counters: tuple[tuple[bytes, bytes, int], ...]  # (originator, recipient, last counter accepted)
    alert_counter: int
    cells: tuple[CellSnapshot, ...]
    sequence_numbers: tuple[tuple[int, int], ...]  # (role, credentials sequence number)
    joins: tuple[tuple[bytes, int], ...]  # (EUI-64, GBCS device type)
    keys: tuple[KeySnapshot, ...]  # the device's own and those of the parties its cells name
    pending_keys: tuple[tuple[str, int], ...] = ()  # CS02c key pairs awaiting their CS02d: (usage, scalar)


@dataclass(frozen=True, slots=True)
class DownloadSnapshot:
    manufacturer_code: int
    image_type: int
    file_version: int
    size: int
    data: bytes


@dataclass(frozen=True, slots=True)
class HeldSnapshot:
    version: bytes
    file_version: int
    image_hash: bytes
    size: int


@dataclass(frozen=True, slots=True)
class FirmwareSnapshot:
    version: bytes
    download: DownloadSnapshot | None
    held: HeldSnapshot | None
    activation_at: float | None
    activation_hash: bytes | None
    activation_counter: int
    activation_originator: bytes | None
    failures: int


@dataclass(frozen=True, slots=True)
class MeterSnapshot:
    kind: str
    eui: bytes
    endpoint: EndpointSnapshot
    firmware: FirmwareSnapshot
    joined: bool  # it was on the network: it joins again when it starts


@dataclass(frozen=True, slots=True)
class LogEntrySnapshot:
    eui: bytes
    device_type: str
    link_key: bytes
    state: str
    nwk: int | None
    added_at: float


@dataclass(frozen=True, slots=True)
class ImageSnapshot:
    data: bytes
    manufacturer_code: int
    image_type: int
    file_version: int
    targets: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class GpfSnapshot:
    eui: bytes
    endpoint: EndpointSnapshot
    firmware: FirmwareSnapshot
    device_log: tuple[tuple[bytes, int], ...]


@dataclass(frozen=True, slots=True)
class ChfSnapshot:
    eui: bytes
    endpoint: EndpointSnapshot
    firmware: FirmwareSnapshot
    device_log: tuple[LogEntrySnapshot, ...]
    kinds: tuple[tuple[bytes, str], ...]
    images: tuple[ImageSnapshot, ...]
    gpf: GpfSnapshot | None


Snapshot = MeterSnapshot | ChfSnapshot


# --- machine -> snapshot ------------------------------------------------------------------------

def _key(k: PartyKey) -> KeySnapshot:
    point = k.public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    private = k.private.private_numbers().private_value if k.private is not None else None
    return KeySnapshot(k.eui, k.usage, point, private, k.certificate_der)


def _endpoint(e: GbcsEndpoint) -> EndpointSnapshot:
    cells = tuple(CellSnapshot(c.role, c.key_usage, c.cell_usage, holder) for c, holder in e.trust.cells.items())
    parties = {e.eui} | {c.holder for c in cells}
    keys = tuple(_key(k) for k in e.keys if k.eui in parties)
    pending = tuple((usage, key.private_numbers().private_value) for usage, key in e.pending_keys.items())
    return EndpointSnapshot(tuple(e.counters), e.alert_counter.value, cells, tuple(sorted(e.trust.seq.items())),
                            tuple(e.joins.entries.items()), keys, pending)


def _firmware(f: FirmwareState) -> FirmwareSnapshot:
    dl = f.download
    download = (DownloadSnapshot(dl.manufacturer_code, dl.image_type, dl.file_version, dl.size, bytes(dl.data))
                if dl is not None else None)
    held = HeldSnapshot(f.held.version, f.held.file_version, f.held.image_hash, f.held.size) if f.held else None
    return FirmwareSnapshot(f.version, download, held, f.activation_at, f.activation_hash, f.activation_counter,
                            f.activation_originator, f.failures)


def _gpf(g: Gpf) -> GpfSnapshot:
    return GpfSnapshot(g.eui, _endpoint(g.endpoint), _firmware(g.firmware), tuple(g.device_log.items()))


def snapshot(machine: Meter | Chf) -> Snapshot:
    """What ``machine`` must keep across a restart."""
    if isinstance(machine, Chf):
        log = tuple(LogEntrySnapshot(e.eui, e.device_type, e.link_key, e.state.value, e.nwk, e.added_at)
                    for e in machine.device_log.entries.values())
        images = tuple(ImageSnapshot(i.data, i.manufacturer_code, i.image_type, i.file_version,
                                     tuple(sorted(i.targets))) for i in machine.images)
        return ChfSnapshot(machine.eui, _endpoint(machine.endpoint), _firmware(machine.firmware), log,
                           tuple(machine.kinds.items()), images,
                           _gpf(machine.gpf) if machine.gpf is not None else None)
    return MeterSnapshot(machine.KIND, machine.eui, _endpoint(machine.endpoint), _firmware(machine.firmware),
                         machine.nwk != 0xFFFE)


# --- snapshot -> machine ------------------------------------------------------------------------

def _restore_endpoint(e: GbcsEndpoint, s: EndpointSnapshot) -> None:
    for o, r, c in s.counters:
        e.counters.last[(o, r)] = c
    e.alert_counter.value = max(e.alert_counter.value, s.alert_counter)
    e.trust.cells = {cred.Cell(c.role, c.key_usage, c.cell_usage): c.holder for c in s.cells}
    e.trust.seq = dict(s.sequence_numbers)
    e.joins.entries = dict(s.joins)
    for k in s.keys:
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), k.public)
            private = ec.derive_private_key(k.private, ec.SECP256R1()) if k.private is not None else None
        except ValueError as err:
            raise StateError(f"{k.usage} key of {k.eui.hex().upper()}: {err}") from None
        e.keys.add(PartyKey(k.eui, _usage(k.usage, k.eui), public, private, k.certificate))
    e.pending_keys = {_usage(usage, e.eui): ec.derive_private_key(scalar, ec.SECP256R1())
                      for usage, scalar in s.pending_keys}


def _usage(text: str, eui: bytes) -> Usage:
    if text not in ("ds", "ka", "ka-pp"):
        raise StateError(f"key of {eui.hex().upper()} has an unknown usage {text!r}")
    return typing.cast(Usage, text)


def _restore_firmware(f: FirmwareState, s: FirmwareSnapshot) -> None:
    f.version = s.version
    d = s.download
    f.download = (Download(d.manufacturer_code, d.image_type, d.file_version, d.size, bytearray(d.data))
                  if d is not None else None)
    f.held = HeldImage(s.held.version, s.held.file_version, s.held.image_hash, s.held.size) if s.held else None
    f.activation_at, f.activation_hash = s.activation_at, s.activation_hash
    f.activation_counter, f.activation_originator, f.failures = (s.activation_counter, s.activation_originator,
                                                                 s.failures)


def restore(machine: Meter | Chf, state: Snapshot) -> None:
    """Put ``state`` back into a freshly built ``machine`` (the same device); StateError if it is another's."""
    if state.eui != machine.eui:
        raise StateError(f"state of {state.eui.hex().upper()} given to {machine.eui.hex().upper()}")
    _restore_endpoint(machine.endpoint, state.endpoint)
    _restore_firmware(machine.firmware, state.firmware)
    if isinstance(machine, Chf):
        if not isinstance(state, ChfSnapshot):
            raise StateError(f"{machine.eui.hex().upper()} is a CHF; the state is a {type(state).__name__}")
        machine.device_log.entries = {e.eui: DeviceLogEntry(e.eui, e.device_type, e.link_key, EntryState(e.state),
                                                            e.nwk, e.added_at) for e in state.device_log}
        machine.kinds = dict(state.kinds)
        machine.images = [HeldFirmware(i.data, i.manufacturer_code, i.image_type, i.file_version, set(i.targets))
                          for i in state.images]
        if machine.gpf is not None and state.gpf is not None:
            _restore_endpoint(machine.gpf.endpoint, state.gpf.endpoint)
            _restore_firmware(machine.gpf.firmware, state.gpf.firmware)
            machine.gpf.device_log = dict(state.gpf.device_log)
        return
    if not isinstance(state, MeterSnapshot) or state.kind != machine.KIND:
        raise StateError(f"{machine.eui.hex().upper()} is a {machine.KIND}; the state is not")


# --- bytes ------------------------------------------------------------------------------------

def _to_json(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _from_json(hint: object, value: object, where: str) -> object:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        return _from_json(next(o for o in options if o is not type(None)), value, where)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise StateError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise StateError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(_from_json(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise StateError(f"{where}: expected an object")
        hints = typing.get_type_hints(hint)
        try:
            return hint(**{f.name: _from_json(hints[f.name], value[f.name], f"{where}.{f.name}")
                           for f in dataclasses.fields(hint)})
        except KeyError as e:
            raise StateError(f"{where}: {e.args[0]} is missing") from None
    if hint is bytes and isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise StateError(f"{where}: {value[:20]!r} is not hex") from None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if (hint is bool and isinstance(value, bool)) or (hint is str and isinstance(value, str)) or (
            hint is int and number and isinstance(value, int)):
        return value
    if hint is float and number:
        return float(value)  # type: ignore[arg-type]
    raise StateError(f"{where}: {value!r} is not a {getattr(hint, '__name__', hint)}")


def encode(state: Snapshot) -> bytes:
    kind = "chf" if isinstance(state, ChfSnapshot) else "meter"
    return json.dumps({"format": FORMAT, "kind": kind, "state": _to_json(state)}, separators=(",", ":")).encode()


def decode(data: bytes) -> Snapshot:
    """The snapshot in ``data``; StateError naming what is wrong."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StateError(f"not a state snapshot (JSON: {e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateError(f"not a state snapshot of format {FORMAT}")
    cls = {"chf": ChfSnapshot, "meter": MeterSnapshot}.get(str(doc.get("kind")))
    if cls is None:
        raise StateError(f"unknown snapshot kind {doc.get('kind')!r}")
    result = _from_json(cls, doc.get("state"), cls.__name__)
    assert isinstance(result, ChfSnapshot | MeterSnapshot)
    return result


# --- when --------------------------------------------------------------------------------------

#: Events after which the state must be on disk before anything else happens.
URGENT: tuple[type[DeviceEvent], ...] = (CommandAccepted, AlertRaised, DeviceLogChanged, FirmwareTransferEnded,
                                         FirmwareActivated, ImageDistributed)
BATCH_S = 1.0


class SaveSchedule:
    """When the adapter writes a device's snapshot: ``note`` each output; True means now. Blocks
    received start a batch that ``handle_timer`` closes at most ``batch_s`` later."""

    def __init__(self, batch_s: float = BATCH_S) -> None:
        self.batch_s = batch_s
        self.due: float | None = None

    def note(self, out: Output, now: float) -> bool:
        if any(isinstance(e, URGENT) for e in out.events):
            self.due = None
            return True
        if self.due is None and any(isinstance(e, FirmwareBlockReceived) for e in out.events):
            self.due = now + self.batch_s
        return False

    def get_timer(self) -> float | None:
        return self.due

    def handle_timer(self, now: float) -> bool:
        if self.due is not None and self.due <= now:
            self.due = None
            return True
        return False
