"""ESME price updates (1.2.1 ECS01b primary element, 1.2.2 ECS01d secondary element): the passive
unit charges (class 113 attribute 6) and their activation time (attribute 7).

DUIS elements (UpdatePricePrimaryElement / UpdatePriceSecondaryElement): PriceElements with
StandingCharge, StandingChargeScale, PriceScale and one of TOUTariff (TOUPrice, index 1-48),
BlockTariff (BlockPrices index 1-8, each BlockPrice index 1-4) or HybridTariff (both);
ElectricityPriceElement (index 1-4) for the secondary element; ExecutionDateTime.
An element with an XML attribute is given as a mapping: ``{"index": "2", "value": "3221"}``
(``@index`` and ``#text`` are accepted too).

GBCS charge table layout (as the RTDS reference encodes it): 48 TOU prices indexed 0x01-0x30, then
the block prices of TOU band k (1-8) and block j (1-4) indexed 0xA0 + 0x10 x (j - 1) + k, all 80
present (absent prices are 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.gbcs.dlms import Data
from emulator.gbcs.duis_params import CANCEL, ParameterError, Params, execution_time
from emulator.gbcs.esme_config import xs_time
from emulator.gbcs.esme_ops import Op, ValueFn, put
from emulator.gbcs.esme_schedule import dlms_date
from emulator.gbcs.obis import TARIFF_SCRIPTS, obis

TOU_PRICES = 48
BLOCK_BANDS = 8
BLOCKS = 4
PRIMARY_PRICES = "0-0:19.20.0.255"
STANDING_CHARGE = "0-0:19.20.4.255"
SECONDARY_PRICES = "0-0:19.20.5.255"
KWH_SCALE = 3  # commodity scale of prices: per kWh (10^3 Wh)


def _items(node: Any) -> list[Any]:
    return node if isinstance(node, list) else [] if node is None else [node]


def _indexed(node: Any, name: str) -> dict[int, Any]:
    """index -> element for elements carrying an ``index`` attribute."""
    out: dict[int, Any] = {}
    for item in _items(node):
        if not isinstance(item, Mapping):
            raise ParameterError(f"{name} needs its index attribute: {{'index': .., 'value': ..}}", field=name)
        out[int(str(item.get("index", item.get("@index", 0))))] = item
    return out


def _price(item: Mapping[str, Any], name: str) -> int:
    raw = item.get("value", item.get("#text"))
    try:
        value = int(str(raw))
    except ValueError:
        raise ParameterError(f"{name} must be an integer price, got {raw!r}", field=name) from None
    if not -(2**15) <= value < 2**15:
        raise ParameterError(f"{name} {value} does not fit a DLMS long", field=name)
    return value


def _charge(scale: int, register: str | None, table: list[tuple[bytes, int]]) -> Data:
    reference = (Data("structure", (Data("long-unsigned", 3), Data("octet-string", obis(register)), Data("integer", 2)))
                 if register else Data("structure", (Data("long-unsigned", 0), Data("octet-string", bytes(6)),
                                                     Data("integer", 0))))
    return Data("structure", (
        Data("structure", (Data("integer", KWH_SCALE if register else 0), Data("integer", scale))), reference,
        Data("array", tuple(Data("structure", (Data("octet-string", idx), Data("long", price)))
                            for idx, price in table))))


def _standing(p: Params) -> Data:
    return _charge(p.int("StandingChargeScale", 0), None, [(b"", p.int("StandingCharge", 0))])


def _primary_prices(p: Params) -> Data:
    tou = {i: _price(v, "TOUPrice") for i, v in _indexed(p.find("TOUPrice"), "TOUPrice").items()}
    blocks: dict[tuple[int, int], int] = {}
    for band, prices in _indexed(p.find("BlockPrices"), "BlockPrices").items():
        for block, item in _indexed(prices.get("BlockPrice"), "BlockPrice").items():
            blocks[(band, block)] = _price(item, "BlockPrice")
    table = [(bytes((i,)), tou.get(i, 0)) for i in range(1, TOU_PRICES + 1)]
    table += [(bytes((0xA0 + 0x10 * (j - 1) + k,)), blocks.get((k, j), 0))
              for j in range(1, BLOCKS + 1) for k in range(1, BLOCK_BANDS + 1)]
    return _charge(p.int("PriceScale", 0), "1-0:1.8.0.255", table)


def _secondary_prices(p: Params) -> Data:
    prices = {i: _price(v, "ElectricityPriceElement")
              for i, v in _indexed(p.find("ElectricityPriceElement"), "ElectricityPriceElement").items()}
    return _charge(p.int("PriceScale", 0), "1-20:1.8.0.255", [(bytes((i,)), prices.get(i, 0)) for i in range(1, 5)])


def _activation(p: Params) -> Data:
    return Data("octet-string", CANCEL if p.bool("Cancel", False) else execution_time(p))


TARIFF: dict[str, tuple[Op, ...]] = {
    "ECS01b": (put(113, STANDING_CHARGE, 6, _standing), put(113, PRIMARY_PRICES, 6, _primary_prices),
               put(113, STANDING_CHARGE, 7, _activation), put(113, PRIMARY_PRICES, 7, _activation)),
    "ECS01d": (put(113, SECONDARY_PRICES, 6, _secondary_prices), put(113, SECONDARY_PRICES, 7, _activation)),
}


# --- tariffs (1.1.1 ECS01a primary element, 1.1.2 ECS01c secondary element) ----------------------
# DUIS ElecTariffElements: SwitchingTable (DayProfiles/DayProfile: DayName 1-16, ProfileSchedule: StartTime and
# TOUTariffAction 1-48 or BlockTariffAction 1-8; WeekProfiles/WeekProfile: WeekName 1-4, seven
# ReferencedDayName Monday..Sunday; Seasons/Season: SeasonName, SeasonStartDate, ReferencedWeekName),
# SpecialDays/SpecialDay (Date, ReferencedDayName), ThresholdMatrix/Thresholds (index 1-8: BlockThreshold
# index 1-3, Wh); PriceElements as the price updates; ExecutionDateTime. The activity calendar's script
# selectors are the TOU rate (primary), 100 + the block band (primary), 200 + the TOU rate (secondary).
PRIMARY_CALENDAR, SECONDARY_CALENDAR = "0-0:13.0.0.255", "0-0:13.0.1.255"
PRIMARY_SPECIAL_DAYS, SECONDARY_SPECIAL_DAYS = "0-1:11.0.0.255", "0-1:11.0.1.255"
NO_THRESHOLD = 0xFFFFFFFF  # ends each band's block threshold list


def _text_of(node: Any) -> str:
    return str(node.get("#text", node.get("value", ""))) if isinstance(node, Mapping) else str(node)


def _season_start(node: Any) -> bytes:
    return dlms_date(node) + bytes((0, 0, 0, 0, 0x80, 0x00, 0xFF))


def _seasons(p: Params) -> Data:
    return Data("array", tuple(Data("structure", (
        Data("octet-string", str(s.get("SeasonName", "")).encode("latin-1")),
        Data("octet-string", _season_start(s.get("SeasonStartDate"))),
        Data("octet-string", bytes((int(str(s.get("ReferencedWeekName", 1))),)))))
        for s in _items(p.find("Season")) if isinstance(s, Mapping)))


def _weeks(p: Params) -> Data:
    out = []
    for w in _items(p.find("WeekProfile")):
        if not isinstance(w, Mapping):
            continue
        days = _items(w.get("ReferencedDayName"))
        if len(days) != 7:
            raise ParameterError(f"a WeekProfile names 7 days, got {len(days)}", field="ReferencedDayName")
        if all(isinstance(d, Mapping) and ("@index" in d or "index" in d) for d in days):
            days = sorted(days, key=lambda d: int(str(d.get("@index", d.get("index")))))
        out.append(Data("structure", (Data("octet-string", bytes((int(str(w.get("WeekName", 1))),))),
                                      *(Data("unsigned", int(_text_of(d))) for d in days))))
    return Data("array", tuple(out))


def _action(entry: Mapping[str, Any], secondary: bool) -> int:
    if "TOUTariffAction" in entry:
        return (200 if secondary else 0) + int(_text_of(entry["TOUTariffAction"]))
    if "BlockTariffAction" in entry and not secondary:
        return 100 + int(_text_of(entry["BlockTariffAction"]))
    raise ParameterError("a ProfileSchedule needs a TOUTariffAction (or BlockTariffAction)", field="ProfileSchedule")


def _days(secondary: bool) -> ValueFn:
    def value(p: Params) -> Data:
        out = []
        for d in _items(p.find("DayProfile")):
            if not isinstance(d, Mapping):
                continue
            actions = tuple(Data("structure", (
                Data("octet-string", xs_time(str(e.get("StartTime", "00:00:00")), "StartTime")),
                Data("octet-string", TARIFF_SCRIPTS), Data("long-unsigned", _action(e, secondary))))
                for e in _items(d.get("ProfileSchedule")) if isinstance(e, Mapping))
            out.append(Data("structure", (Data("unsigned", int(str(d.get("DayName", 1)))), Data("array", actions))))
        return Data("array", tuple(out))
    return value


def _tariff_special_days(p: Params) -> Data:
    days = [d for d in _items(p.find("SpecialDay")) if isinstance(d, Mapping)]
    return Data("array", tuple(Data("structure", (
        Data("long-unsigned", i), Data("octet-string", dlms_date(d.get("Date"))),
        Data("unsigned", int(str(d.get("ReferencedDayName", 1)))))) for i, d in enumerate(days, start=1)))


def _thresholds(band: int) -> ValueFn:
    def value(p: Params) -> Data:
        limits = _indexed(p.find("Thresholds"), "Thresholds").get(band)
        given = _indexed(limits.get("BlockThreshold"), "BlockThreshold") if isinstance(limits, Mapping) else {}
        values = [int(_text_of(given[i])) for i in sorted(given)] + [NO_THRESHOLD]
        return Data("array", tuple(Data("double-long-unsigned", v) for v in values))
    return value


TARIFF["ECS01a"] = (
    put(20, PRIMARY_CALENDAR, 7, _seasons), put(20, PRIMARY_CALENDAR, 8, _weeks),
    put(20, PRIMARY_CALENDAR, 9, _days(False)),
    put(11, PRIMARY_SPECIAL_DAYS, 2, _tariff_special_days),
    *(put(21, f"0-0:16.1.{10 + band}.255", 2, _thresholds(band)) for band in range(1, BLOCK_BANDS + 1)),
    put(9000, "0-0:94.44.2.0", 4, Data("boolean", 0xFF)),
    put(113, STANDING_CHARGE, 6, _standing), put(113, PRIMARY_PRICES, 6, _primary_prices),
    put(20, PRIMARY_CALENDAR, 10, _activation), put(9000, "0-0:94.44.128.29", 6, _activation),
    put(9000, "0-0:94.44.2.0", 6, _activation), put(113, STANDING_CHARGE, 7, _activation),
    put(113, PRIMARY_PRICES, 7, _activation), put(9000, "0-0:63.1.1.255", 6, _activation),
)
TARIFF["ECS01c"] = (
    put(113, SECONDARY_PRICES, 6, _secondary_prices),
    put(20, SECONDARY_CALENDAR, 7, _seasons), put(20, SECONDARY_CALENDAR, 8, _weeks),
    put(20, SECONDARY_CALENDAR, 9, _days(True)), put(11, SECONDARY_SPECIAL_DAYS, 2, _tariff_special_days),
    put(20, SECONDARY_CALENDAR, 10, _activation), put(113, SECONDARY_PRICES, 7, _activation),
    put(9000, "0-0:94.44.128.30", 6, _activation),
)
