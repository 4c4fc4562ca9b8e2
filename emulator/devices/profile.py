"""Device and premises profiles as typed, validated objects (YAML is read at the edge).

A profile fixes everything that makes a run reproducible for one meter: seed, load
shape, tariff, payment mode, firmware version, make. ``from_mapping`` validates a
plain dict (what YAML gives) and names the file, the key and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.devices.load import _SHAPES, LoadModel


class ProfileError(ValueError):
    """A profile that does not validate; the message names the source, key and expectation."""

    def __init__(self, source: str, key: str, expected: str, got: object) -> None:
        self.source, self.key, self.expected, self.got = source, key, expected, got
        super().__init__(f"{source}: {key}: expected {expected}, got {got!r}")


@dataclass(frozen=True, slots=True)
class Tariff:
    """A simple tariff: unit price per kWh (pence) and standing charge (pence/day)."""

    unit_price_p: float = 24.5
    standing_charge_p: float = 53.0
    tou_rates: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class MeterProfile:
    """One meter's profile (ESME or GSME)."""

    seed: int = 1
    load_shape: str = "domestic"
    daily_kwh: float = 8.0
    payment_mode: str = "credit"  # credit | prepayment
    firmware_version: bytes = bytes.fromhex("0123ABCD")
    manufacturer_code: int = 0x1234
    image_type: int = 0x0001
    tariff: Tariff = field(default_factory=Tariff)
    wake_period_s: float = 30.0  # GSME only: how often the battery meter wakes to poll
    battery_mah: int = 19_000
    elements: int = 1  # ESME only: 2 is a twin element meter (variant B), its secondary circuit metered apart

    def secondary_load(self, start: float) -> LoadModel | None:
        """A twin element ESME's secondary element: its own seeded load, half the primary's."""
        if self.elements < 2:
            return None
        return LoadModel(seed=self.seed + 7919, shape=self.load_shape, daily_kwh=self.daily_kwh / 2, start=start)

    def load(self, start: float) -> LoadModel:
        return LoadModel(seed=self.seed, shape=self.load_shape, daily_kwh=self.daily_kwh, start=start)


@dataclass(frozen=True, slots=True)
class PremisesProfile:
    """A premises: which meters it has, its CSP region, and mandatory-comms flags (RM-3)."""

    name: str = "premises"
    region: str = "NORTH"  # NORTH | CENTRAL_SOUTH
    electricity: MeterProfile | None = field(default_factory=MeterProfile)
    gas: MeterProfile | None = field(default_factory=lambda: MeterProfile(
        seed=2, load_shape="gas-heating", daily_kwh=30.0, image_type=0x0002))
    economy7_load_control: bool = False
    radio_teleswitch: bool = False
    network_managed: bool = False
    cbke: bool = False
    """Run CBKE (Key Establishment, SE 1.2 suite 2) after each install-code join (docs/cbke.md): off by
    default, since a few hundred milliseconds of pure-Python sect283k1 per device would slow the fleets."""


_REGIONS = ("NORTH", "CENTRAL_SOUTH")
_MODES = ("credit", "prepayment")


def _get(d: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, source: str,
         path: str) -> Any:
    if key not in d:
        return default
    value = d[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ProfileError(source, f"{path}{key}", _kind_name(kind), value)
    if not isinstance(value, kind):
        raise ProfileError(source, f"{path}{key}", _kind_name(kind), value)
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def meter_from_mapping(d: object, source: str, path: str, defaults: MeterProfile) -> MeterProfile:
    if not isinstance(d, dict):
        raise ProfileError(source, path.rstrip("."), "a mapping", d)
    known = set(MeterProfile.__dataclass_fields__) | {"tariff"}
    for key in d:
        if key not in known:
            raise ProfileError(source, f"{path}{key}", f"one of {sorted(known)}", "unknown key")
    shape = _get(d, "load_shape", str, defaults.load_shape, source, path)
    if shape not in _SHAPES:
        raise ProfileError(source, f"{path}load_shape", f"one of {sorted(_SHAPES)}", shape)
    mode = _get(d, "payment_mode", str, defaults.payment_mode, source, path)
    if mode not in _MODES:
        raise ProfileError(source, f"{path}payment_mode", f"one of {_MODES}", mode)
    fw = _get(d, "firmware_version", str, defaults.firmware_version.hex(), source, path)
    try:
        firmware = bytes.fromhex(fw)
    except ValueError:
        raise ProfileError(source, f"{path}firmware_version", "hex digits", fw) from None
    if len(firmware) != 4:
        raise ProfileError(source, f"{path}firmware_version", "4 bytes (8 hex digits)", fw)
    tariff_d = d.get("tariff", {})
    if not isinstance(tariff_d, dict):
        raise ProfileError(source, f"{path}tariff", "a mapping", tariff_d)
    tariff = Tariff(
        unit_price_p=float(_get(tariff_d, "unit_price_p", (int, float), defaults.tariff.unit_price_p,
                                source, f"{path}tariff.")),
        standing_charge_p=float(_get(tariff_d, "standing_charge_p", (int, float),
                                     defaults.tariff.standing_charge_p, source, f"{path}tariff.")),
    )
    daily = float(_get(d, "daily_kwh", (int, float), defaults.daily_kwh, source, path))
    if daily < 0:
        raise ProfileError(source, f"{path}daily_kwh", "a number >= 0", daily)
    elements = _get(d, "elements", int, defaults.elements, source, path)
    if elements not in (1, 2):
        raise ProfileError(source, f"{path}elements", "1 (single element) or 2 (twin element)", elements)
    return MeterProfile(
        seed=_get(d, "seed", int, defaults.seed, source, path),
        load_shape=shape,
        daily_kwh=daily,
        payment_mode=mode,
        firmware_version=firmware,
        manufacturer_code=_get(d, "manufacturer_code", int, defaults.manufacturer_code, source, path),
        image_type=_get(d, "image_type", int, defaults.image_type, source, path),
        tariff=tariff,
        wake_period_s=float(_get(d, "wake_period_s", (int, float), defaults.wake_period_s, source, path)),
        battery_mah=_get(d, "battery_mah", int, defaults.battery_mah, source, path),
        elements=elements,
    )


def premises_from_mapping(d: object, source: str = "<profile>") -> PremisesProfile:
    """Validate a premises profile mapping (as loaded from YAML)."""
    if not isinstance(d, dict):
        raise ProfileError(source, "(top level)", "a mapping", d)
    base = PremisesProfile()
    known = set(PremisesProfile.__dataclass_fields__)
    for key in d:
        if key not in known:
            raise ProfileError(source, key, f"one of {sorted(known)}", "unknown key")
    region = _get(d, "region", str, base.region, source, "")
    if region not in _REGIONS:
        raise ProfileError(source, "region", f"one of {_REGIONS}", region)
    elec = d.get("electricity", {})
    gas = d.get("gas", {})
    return PremisesProfile(
        name=_get(d, "name", str, base.name, source, ""),
        region=region,
        electricity=None if elec is None else meter_from_mapping(
            elec, source, "electricity.", base.electricity or MeterProfile()),
        gas=None if gas is None else meter_from_mapping(gas, source, "gas.", base.gas or MeterProfile()),
        economy7_load_control=_get(d, "economy7_load_control", bool, False, source, ""),
        radio_teleswitch=_get(d, "radio_teleswitch", bool, False, source, ""),
        network_managed=_get(d, "network_managed", bool, False, source, ""),
        cbke=_get(d, "cbke", bool, False, source, ""),
    )
