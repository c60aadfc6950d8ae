"""Plans to print: the monograph's worked example and the cases a worksheet must say aloud."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ertplan.core import Order, every, plan_preparation, to_data
from ertplan.core.monograph import Monograph

PREPARED_AT = datetime(2026, 12, 7, 8, 30, tzinfo=timezone(timedelta(hours=1)))


def plan_data(monograph: Monograph, weight_kg: float = 70, dose_per_kg: float = 60,
              **order: Any) -> dict[str, Any]:
    """``to_data`` of the core's plan, as ``ertplan prepare --json`` prints it."""
    data = to_data(plan_preparation(Order(weight_kg=weight_kg, dose_units_per_kg=dose_per_kg,
                                          frequency=every(14), prepared_at=PREPARED_AT, **order),
                                    monograph))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def worked_example(imiglucerase: Monograph) -> dict[str, Any]:
    """70 kg at 60 U/kg every 2 weeks, reconstituted 2026-12-07 08:30 +01:00."""
    return plan_data(imiglucerase)
