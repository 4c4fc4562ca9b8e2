"""DV-4: deterministic synthetic load and validated profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from emulator.devices.load import DAY, HALF_HOUR, LoadModel
from emulator.devices.profile import ProfileError, premises_from_mapping

START = 1767225600.0
PROFILES = Path(__file__).resolve().parents[2] / "profiles"


def test_dv4_same_seed_same_readings_other_seed_differs():
    a, b, c = LoadModel(seed=1, start=START), LoadModel(seed=1, start=START), LoadModel(seed=2, start=START)
    t = START + 10 * DAY + 3 * 3600
    assert a.energy_wh(t) == b.energy_wh(t)
    assert a.energy_wh(t) != c.energy_wh(t)


@given(st.floats(min_value=0, max_value=400 * DAY), st.floats(min_value=0, max_value=5 * DAY))
def test_dv4_register_never_decreases(t: float, dt: float) -> None:
    m = LoadModel(seed=7, start=START)
    assert m.energy_wh(START + t + dt) >= m.energy_wh(START + t)


def test_dv4_daily_energy_is_about_the_configured_mean():
    m = LoadModel(seed=3, daily_kwh=8.0, start=START)
    total = m.energy_wh(START + 100 * DAY) / 100 / 1000
    assert 7.0 < total < 9.0


def test_dv4_profile_log_matches_register_differences():
    m = LoadModel(seed=4, start=START)
    end = START + 2 * DAY
    log = m.profile(end, 48)
    assert len(log) == 48
    assert log[-1][0] == end
    register_delta = m.energy_wh(end) - m.energy_wh(end - DAY)
    assert abs(sum(wh for _, wh in log) - register_delta) <= 48  # integer rounding per half-hour
    assert m.power_w(START + HALF_HOUR / 2) == int(m.half_hour_wh(0) * 2)


def test_shipped_profiles_validate():
    names = sorted(p.name for p in PROFILES.glob("*.yaml"))
    assert "default.yaml" in names
    for path in PROFILES.glob("*.yaml"):
        premises_from_mapping(yaml.safe_load(path.read_text()), str(path))


@pytest.mark.parametrize(("doc", "key"), [
    ({"region": "MIDLANDS"}, "region"),
    ({"electricity": {"payment_mode": "pay-as-you-go"}}, "electricity.payment_mode"),
    ({"gas": {"daily_kwh": "lots"}}, "gas.daily_kwh"),
    ({"electricity": {"firmware_version": "12"}}, "electricity.firmware_version"),
    ({"colour": "blue"}, "colour"),
    ({"electricity": {"tariff": {"unit_price_p": True}}}, "electricity.tariff.unit_price_p"),
    ({"electricity": {"elements": 3}}, "electricity.elements"),
])
def test_bad_profiles_name_the_key(doc, key):
    with pytest.raises(ProfileError) as e:
        premises_from_mapping(doc, "x.yaml")
    assert e.value.key == key
    assert "x.yaml" in str(e.value)


def test_a_twin_element_esme_is_chosen_by_its_profile():
    p = premises_from_mapping({"electricity": {"elements": 2}}, "x.yaml")
    assert p.electricity is not None and p.electricity.elements == 2
    assert p.electricity.secondary_load(0.0) is not None
    assert premises_from_mapping({}, "x.yaml").electricity.secondary_load(0.0) is None  # type: ignore[union-attr]
