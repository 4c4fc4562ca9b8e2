"""Shared fixtures: where the public reference data is, and a key store over it."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
RTDS = SHARED / "vectors" / "gbcs-rtds-4.5.0"

# CI runs derandomised so a failure replays exactly; locally hypothesis explores.
settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@cache
def rtds_files() -> list[Path]:
    return sorted((RTDS / "messages").glob("*/*.HEX"))


def need_rtds() -> None:
    if not (RTDS / "messages").is_dir():
        pytest.skip(f"reference vectors not found at {RTDS} (they live in ../shared)")


@pytest.fixture(scope="session")
def rtds_messages() -> list[tuple[str, bytes]]:
    need_rtds()
    return [(p.name, bytes.fromhex(p.read_text().strip())) for p in rtds_files()]


@pytest.fixture(scope="session")
def rtds_keys():  # type: ignore[no-untyped-def]
    need_rtds()
    from emulator.pki import load_directory

    return load_directory(RTDS / "keystore")
