"""The run-to-run cache only ever speeds things up: same answers, never stale, never fatal."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ertplan.cache import UnitMemo, cached_monograph
from ertplan.core.dosing import every
from ertplan.core.monograph import Monograph
from ertplan.core.preparation import Order, plan_preparation


def test_a_cached_monograph_plans_exactly_like_a_freshly_validated_one(
        tmp_path: Path, imiglucerase: Monograph) -> None:
    first = cached_monograph("imiglucerase", tmp_path)
    assert len(list(tmp_path.glob("monograph-imiglucerase-*.pickle"))) == 1
    second = cached_monograph("imiglucerase", tmp_path)
    order = Order(weight_kg=45, dose_units_per_kg=60, frequency=every(14),
                  prepared_at=datetime(2026, 12, 7, tzinfo=UTC))
    assert (plan_preparation(order, first) == plan_preparation(order, second)
            == plan_preparation(order, imiglucerase))


def test_a_corrupt_cache_file_is_replaced(tmp_path: Path) -> None:
    cached_monograph("imiglucerase", tmp_path)
    (stored,) = tmp_path.glob("monograph-imiglucerase-*.pickle")
    stored.write_bytes(b"not a pickle")
    assert cached_monograph("imiglucerase", tmp_path).drug == "imiglucerase"
    assert stored.read_bytes() != b"not a pickle"


def test_an_unwritable_cache_folder_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert cached_monograph("imiglucerase", blocker / "cache").drug == "imiglucerase"
    memo = UnitMemo(blocker / "cache")
    memo["kg"] = ("[mass]", 1000.0)
    memo.save()


def test_unit_facts_survive_between_runs(tmp_path: Path) -> None:
    memo = UnitMemo(tmp_path)
    memo["lb"] = ("[mass]", 453.59237)
    memo.save()
    assert UnitMemo(tmp_path)["lb"] == ("[mass]", 453.59237)


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG rule ertplan applies itself on Linux")
@pytest.mark.parametrize(("xdg_cache_home", "home"), [
    (None, "/home/pharmacist"),
    ("/var/tmp/xdg-cache", "/home/pharmacist"),
    ("relative/cache", "/home/pharmacist"),  # not absolute: ignored, as the spec says
    ("", "/root/"),
    (None, "relative-home"),  # platformdirs' own rules decide
])
def test_the_cache_folder_is_where_platformdirs_puts_it(
        monkeypatch: pytest.MonkeyPatch, xdg_cache_home: str | None, home: str) -> None:
    from platformdirs import user_cache_path

    from ertplan.cache import CACHE_DIR_VARIABLE, cache_dir

    monkeypatch.delenv(CACHE_DIR_VARIABLE)
    monkeypatch.setenv("HOME", home)
    if xdg_cache_home is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg_cache_home)
    assert cache_dir() == user_cache_path("ertplan", appauthor=False)
