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
from emulator.gbcs.esme_ops import Op, obis, put

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
