"""Hypothesis strategies for the Zigbee layer, derived from the declarative tables so that a
command added to a cluster is covered by the round-trip properties without a test edit."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from emulator.zigbee import aps, mac, ota_file, zcl
from emulator.zigbee.clusters import key_establishment, smart_energy, tunneling
from emulator.zigbee.types import Boolean, Eui64, OctetString, RestOfFrame, UInt, WireType

eui64s = st.binary(min_size=8, max_size=8)


def _values(wire: WireType[Any]) -> st.SearchStrategy[Any]:
    if isinstance(wire, UInt):
        return st.integers(0, (1 << (8 * wire.size)) - 1)
    if isinstance(wire, Boolean):
        return st.booleans()
    if isinstance(wire, Eui64):
        return eui64s
    if isinstance(wire, OctetString):
        return st.binary(max_size=wire.max_length)
    if isinstance(wire, RestOfFrame):
        return st.binary(max_size=300)
    if isinstance(wire, smart_energy.SInt):
        return st.integers(-(1 << (8 * wire.size - 1)), (1 << (8 * wire.size - 1)) - 1)
    if isinstance(wire, smart_energy.Records):
        return st.lists(st.tuples(*(_values(f) for f in wire.fields)), max_size=10).map(tuple)
    if isinstance(wire, smart_energy.BlockThresholdGroups):
        group = st.tuples(st.integers(0, 15), st.lists(st.integers(0, (1 << 48) - 1), max_size=15).map(tuple))
        return st.lists(group, max_size=4).map(tuple)
    if isinstance(wire, smart_energy.EventIds):
        return st.lists(st.integers(0, 0xFFFF), max_size=30).map(tuple)
    if isinstance(wire, smart_energy.EventConfigurations):
        return st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFF)), max_size=30).map(tuple)
    if isinstance(wire, key_establishment.FixedOctets):
        return st.binary(min_size=wire.size, max_size=wire.size)
    if wire.name == "protocol list":
        entry = st.builds(tunneling.SupportedProtocol, st.integers(0, 0xFFFF), st.integers(0, 0xFF))
        return st.lists(entry, max_size=20).map(tuple)
    raise AssertionError(f"no strategy for wire type {wire!r}")


@st.composite
def commands_of(draw: st.DrawFn, cls: type[zcl.ZclCommand]) -> zcl.ZclCommand:
    """Any valid ``cls``: fields left off the wire by earlier fields hold their defaults."""
    defaults = zcl._defaults(cls)
    values: dict[str, Any] = {}
    for row in cls.SCHEMA:
        if row.present_if is not None and not row.present_if(values):
            values[row.name] = defaults[row.name]
        else:
            values[row.name] = draw(_values(row.type))
    return cls(**values)


ALL_COMMANDS = sorted(zcl.REGISTRY.values(), key=lambda c: (c.CLUSTER, c.DIRECTION, c.COMMAND_ID))
commands = st.sampled_from(ALL_COMMANDS).flatmap(commands_of)

frame_controls = st.builds(zcl.ZclFrameControl, st.sampled_from(zcl.FrameType), st.booleans(),
                           st.sampled_from(zcl.Direction), st.booleans(), st.integers(0, 7))


@st.composite
def zcl_headers(draw: st.DrawFn) -> zcl.ZclHeader:
    fc = draw(frame_controls)
    mfr = draw(st.integers(0, 0xFFFF)) if fc.manufacturer_specific else None
    return zcl.ZclHeader(fc, draw(st.integers(0, 0xFF)), draw(st.integers(0, 0xFF)), mfr)


_short = st.integers(0, 0xFFFF)
_mac_address = st.one_of(st.none(), _short, eui64s)


@st.composite
def mac_headers(draw: st.DrawFn) -> mac.MacHeader:
    dst, src = draw(_mac_address), draw(_mac_address)
    dst_pan = None if dst is None else draw(_short)
    if src is None:
        src_pan = None
    elif dst is None:
        src_pan = draw(_short)
    else:
        src_pan = draw(st.one_of(st.none(), _short))  # None: PAN ID compression
    return mac.MacHeader(draw(st.integers(0, 0xFF)), dst_pan, dst, src_pan, src, draw(st.booleans()),
                         draw(st.booleans()), draw(st.sampled_from([0, 1])))


nwk_headers = st.builds(
    aps.NwkHeader, _short, _short, st.integers(0, 0xFF), st.integers(0, 0xFF), st.sampled_from(aps.NwkFrameType),
    st.integers(0, 0xF), st.sampled_from(aps.DiscoverRoute), st.booleans(), st.booleans(),
    st.one_of(st.none(), eui64s), st.one_of(st.none(), eui64s), st.one_of(st.none(), st.integers(0, 0xFF)),
    st.one_of(st.none(), st.builds(aps.SourceRoute, st.integers(0, 0xFF), st.lists(_short, max_size=10).map(tuple))))


@st.composite
def aps_headers(draw: st.DrawFn) -> aps.ApsHeader:
    mode = draw(st.sampled_from(aps.ApsDeliveryMode))
    group = draw(_short) if mode is aps.ApsDeliveryMode.GROUP else None
    dst_ep = None if group is not None else draw(st.integers(0, 0xFF))
    fragmentation = draw(st.one_of(st.none(), st.sampled_from(aps.Fragmentation)))
    fragmented = fragmentation not in (None, aps.Fragmentation.NOT_FRAGMENTED)
    block = draw(st.integers(0, 0xFF)) if fragmented else 0
    return aps.ApsHeader(dst_ep, draw(_short), draw(_short), draw(st.integers(0, 0xFF)), draw(st.integers(0, 0xFF)),
                         mode, group, draw(st.booleans()), draw(st.booleans()), fragmentation, block)


_u16, _u32 = st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)
ota_headers = st.builds(
    ota_file.OtaHeader, _u16, _u16, _u32,
    st.binary(max_size=32).map(lambda b: b.rstrip(b"\x00")), _u16,
    st.one_of(st.none(), st.integers(0, 0xFF)), st.one_of(st.none(), eui64s),
).flatmap(lambda h: st.one_of(st.just(h), st.tuples(_u16, _u16).map(
    lambda hw: ota_file.OtaHeader(h.manufacturer_code, h.image_type, h.file_version, h.header_string,
                                  h.stack_version, h.security_credential_version, h.upgrade_file_destination,
                                  hw[0], hw[1]))))
sub_elements = st.builds(ota_file.SubElement, _u16, st.binary(max_size=200))
ota_files = st.builds(ota_file.OtaFile, ota_headers, st.lists(sub_elements, max_size=5).map(tuple))
