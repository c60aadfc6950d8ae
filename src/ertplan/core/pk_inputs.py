"""What people type for ``ertplan pk`` (``6min``, ``0.12L/kg`` or ``8.4L``, ``normal:70kg,15kg``,
a CSV of weights, ``15%``) turned into the core's plain-unit requests, refused in one line if bad.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.core.pk import PkRequest
from ertplan.core.population import (
    DEFAULT_PERCENTILES,
    PopulationRequest,
    WeightDistribution,
)
from ertplan.core.units import (
    DOSE_PER_MASS,
    DURATION,
    HALF_LIFE,
    MASS,
    VOLUME,
    VOLUME_PER_MASS,
    Kind,
    UnitTable,
    parse_quantity,
)

WEIGHT_FAMILIES = ("normal", "lognormal", "uniform")
WEIGHT_DIST_EXAMPLE = "normal:70kg,15kg, lognormal:70kg,0.25, uniform:40kg,100kg or 70kg"


@dataclass(frozen=True, kw_only=True)
class PkInputs:
    """One ``ertplan pk`` request as text, e.g. ``weight="70kg", dose="60U/kg"``."""

    weight: str
    dose: str
    duration: str | None = None
    half_life: str | None = None
    volume: str | None = None
    antibody_positive: bool = False
    antibody_volume_factor: float | None = None
    antibody_clearance_factor: float | None = None


def pk_request_from_inputs(inputs: PkInputs, table: UnitTable) -> PkRequest:
    """Parse every field of `inputs`.

    >>> request = pk_request_from_inputs(PkInputs(weight="70kg", dose="60U/kg", duration="1h",
    ...     half_life="6min", volume="8.4L"), table={})
    >>> request.duration_min, request.half_life_min, request.volume_l
    (60.0, 6.0, 8.4)
    """
    volume_l_per_kg, volume_l = (None, None) if inputs.volume is None else parse_volume(
        inputs.volume, table)
    return PkRequest(
        weight_kg=parse_quantity(inputs.weight, MASS, "weight", table),
        dose_units_per_kg=parse_quantity(inputs.dose, DOSE_PER_MASS, "dose", table),
        duration_min=_optional(inputs.duration, DURATION, "duration", table),
        half_life_min=_optional(inputs.half_life, HALF_LIFE, "half-life", table),
        volume_l_per_kg=volume_l_per_kg,
        volume_l=volume_l,
        antibody_positive=inputs.antibody_positive,
        antibody_volume_factor=_factor("antibody-volume-factor", inputs.antibody_volume_factor),
        antibody_clearance_factor=_factor("antibody-clearance-factor",
                                          inputs.antibody_clearance_factor),
    )


@dataclass(frozen=True, kw_only=True)
class PopulationInputs:
    """One ``ertplan pk population`` request as text. Give `weight_dist` or `weight_csv_text`."""

    n_patients: int
    seed: int
    dose: str
    weight_dist: str | None = None
    weight_csv_text: str | None = None
    duration: str | None = None
    antibody_share: str | None = None
    antibody_volume_factor: float | None = None
    antibody_clearance_factor: float | None = None
    percentiles: str | None = None


def population_request_from_inputs(inputs: PopulationInputs, monograph: Monograph,
                                   table: UnitTable) -> PopulationRequest:
    """Parse every field of `inputs`; weights are checked against the monograph's accepted range.

    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> request = population_request_from_inputs(PopulationInputs(n_patients=1000, seed=7,
    ...     dose="60U/kg", weight_dist="normal:70kg,15kg", antibody_share="10%"),
    ...     load_monograph(monograph_path("imiglucerase")), table={})
    >>> request.weights.describe(), request.antibody_positive_percent
    ('normal, mean 70 kg, sd 15 kg, truncated to 0.5-350 kg', 10.0)
    """
    if isinstance(inputs.n_patients, bool) or inputs.n_patients <= 0:
        raise InputError("n", "must be a whole number of patients above zero", inputs.n_patients)
    if (inputs.weight_dist is None) == (inputs.weight_csv_text is None):
        raise InputError("weight-dist", "give exactly one of --weight-dist (e.g. "
                         "normal:70kg,15kg) or --weight-csv FILE")
    if inputs.weight_dist is not None:
        weights = parse_weight_distribution(inputs.weight_dist, monograph, table)
    else:
        assert inputs.weight_csv_text is not None
        weights = weights_from_csv(inputs.weight_csv_text, monograph, table)
    return PopulationRequest(
        n_patients=inputs.n_patients,
        seed=inputs.seed,
        dose_units_per_kg=parse_quantity(inputs.dose, DOSE_PER_MASS, "dose", table),
        weights=weights,
        duration_min=_optional(inputs.duration, DURATION, "duration", table),
        antibody_positive_percent=(None if inputs.antibody_share is None
                                   else parse_percent("antibody-share", inputs.antibody_share)),
        antibody_volume_factor=_factor("antibody-volume-factor", inputs.antibody_volume_factor),
        antibody_clearance_factor=_factor("antibody-clearance-factor",
                                          inputs.antibody_clearance_factor),
        percentiles=(DEFAULT_PERCENTILES if inputs.percentiles is None
                     else parse_percentiles(inputs.percentiles)),
    )


def parse_volume(text: str, table: UnitTable) -> tuple[float | None, float | None]:
    """A volume of distribution per kg (``0.12L/kg``) or in litres (``8.4L``): one is None.

    >>> parse_volume("0.12 L/kg", {}), parse_volume("8.4 L", {})
    ((0.12, None), (None, 8.4))
    """
    try:
        return parse_quantity(text, VOLUME_PER_MASS, "volume", table), None
    except InputError as per_kg_error:
        try:
            return None, parse_quantity(text, VOLUME, "volume", table)
        except InputError as litres_error:
            if "such as" in litres_error.problem and "such as" in per_kg_error.problem:
                raise InputError("volume", "must be a volume per kg such as 0.12 L/kg or a "
                                 "volume such as 8.4 L", text) from None
            raise litres_error from None


def parse_weight_distribution(text: str, monograph: Monograph,
                              table: UnitTable) -> WeightDistribution:
    """``normal:MEAN,SD``, ``lognormal:MEDIAN,SIGMA``, ``uniform:LOW,HIGH`` or one weight.

    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> parse_weight_distribution("uniform:40kg,100kg",
    ...     load_monograph(monograph_path("imiglucerase")), {}).describe()
    'uniform 40-100 kg'
    """
    field = "weight-dist"
    low_kg = monograph.planning.weight_kg_accepted_min
    high_kg = monograph.planning.weight_kg_accepted_max
    family, separator, rest = text.partition(":")
    family = family.strip().lower()
    if not separator:
        weight = parse_quantity(text, MASS, field, table)
        _check_weight_kg(field, weight, low_kg, high_kg, text)
        return WeightDistribution("fixed", weight, low_kg=low_kg, high_kg=high_kg)
    parts = [part.strip() for part in rest.split(",")]
    if family not in WEIGHT_FAMILIES or len(parts) != 2:
        raise InputError(field, f"must be e.g. {WEIGHT_DIST_EXAMPLE}", text)
    first = parse_quantity(parts[0], MASS, field, table)
    _check_weight_kg(field, first, low_kg, high_kg, text)
    if family == "lognormal":
        sigma = _plain_number(field, parts[1], text)
        return WeightDistribution("lognormal", first, sigma, low_kg, high_kg)
    second = parse_quantity(parts[1], MASS, field, table)
    if family == "normal":
        return WeightDistribution("normal", first, second, low_kg, high_kg)
    _check_weight_kg(field, second, low_kg, high_kg, text)
    if second <= first:
        raise InputError(field, "the uniform range must go from low to high", text)
    return WeightDistribution("uniform", first, second, low_kg, high_kg)


def weights_from_csv(text: str, monograph: Monograph, table: UnitTable) -> WeightDistribution:
    """Real weights to resample: a CSV with a ``weight_kg`` column (numbers) or a ``weight``
    column (with units, e.g. ``70 kg``). Every row must be a weight ertplan accepts.
    """
    field = "weight-csv"
    low_kg = monograph.planning.weight_kg_accepted_min
    high_kg = monograph.planning.weight_kg_accepted_max
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip() for name in reader.fieldnames or []]
    if "weight_kg" in columns:
        column, with_unit = "weight_kg", False
    elif "weight" in columns:
        column, with_unit = "weight", True
    else:
        raise InputError(field, "needs a header with a weight_kg or a weight column")
    reader.fieldnames = columns
    weights = []
    for row_number, row in enumerate(reader, start=2):
        cell = (row.get(column) or "").strip()
        where = f"{field} line {row_number}"
        weight = (parse_quantity(cell, MASS, where, table) if with_unit
                  else _plain_number(where, cell, cell, unit="kg"))
        _check_weight_kg(where, weight, low_kg, high_kg, cell)
        weights.append(weight)
    if not weights:
        raise InputError(field, "holds no weights")
    return WeightDistribution("empirical", low_kg=low_kg, high_kg=high_kg, values=tuple(weights))


def parse_percent(field: str, text: str) -> float:
    """A percentage between 0 and 100, with or without ``%``.

    >>> parse_percent("antibody-share", "15%")
    15.0
    """
    number = text.strip().removesuffix("%").strip()
    try:
        value = float(number)
    except ValueError:
        raise InputError(field, "must be a percentage such as 15%", text) from None
    if not (math.isfinite(value) and 0 <= value <= 100):
        raise InputError(field, "must be a percentage between 0 and 100", text)
    return value


def parse_percentiles(text: str) -> tuple[float, ...]:
    """Comma-separated percentiles, e.g. ``5,50,95``.

    >>> parse_percentiles("5, 50,95")
    (5.0, 50.0, 95.0)
    """
    values = tuple(parse_percent("percentiles", part) for part in text.split(","))
    return tuple(sorted(set(values)))


def _optional(text: str | None, kind: Kind, field: str, table: UnitTable) -> float | None:
    return None if text is None else parse_quantity(text, kind, field, table)


def _factor(field: str, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise InputError(field, "must be a number greater than zero, e.g. 0.8", value)
    return value


def _plain_number(field: str, text: str, shown: str, unit: str = "") -> float:
    try:
        value = float(text)
    except ValueError:
        what = f"a number of {unit}" if unit else "a number"
        raise InputError(field, f"must be {what}", shown) from None
    if not (math.isfinite(value) and value > 0):
        raise InputError(field, "must be a number greater than zero", shown)
    return value


def _check_weight_kg(field: str, weight_kg: float, low_kg: float, high_kg: float,
                     shown: str) -> None:
    if not low_kg <= weight_kg <= high_kg:
        raise InputError(field, f"weights must be between {low_kg:g} and {high_kg:g} kg", shown)

