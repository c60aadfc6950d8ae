"""Closed-form kinetics: the issue's worked check, solve_ivp, and the model's properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import half_lives_min, infusion_doses_units, infusion_hours, volumes_l

from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.core.pk import (
    Infusion,
    PkRequest,
    area_under_curve_units_h_per_l,
    elimination_rate_per_h,
    peak_activity,
    plasma_activity_units_per_l,
    simulate_infusion,
    typical_half_life_min,
    typical_volume_l_per_kg,
)

ISSUE_CHECK = PkRequest(weight_kg=70, dose_units_per_kg=60, duration_min=60, half_life_min=6,
                        volume_l_per_kg=0.12)


def test_6_min_half_life_and_0_12_l_per_kg_at_70_kg_plateau_at_72_1_u_per_l(
        imiglucerase: Monograph) -> None:
    summary = simulate_infusion(ISSUE_CHECK, imiglucerase)
    # by hand: 4200 U/h / (ln 2 / 0.1 h x 8.4 L)
    assert summary.clearance_l_per_h == pytest.approx(math.log(2) / 0.1 * 8.4)
    assert summary.steady_state_units_per_l == pytest.approx(4200 / (math.log(2) / 0.1 * 8.4))
    assert round(summary.steady_state_units_per_l, 1) == 72.1
    # 30 min is 5 half-lives: 1 - 2^-5 = 96.875 %
    assert summary.fraction_of_steady_state_at_30_min == pytest.approx(1 - 2 ** -5, rel=1e-12)
    assert round(summary.fraction_of_steady_state_at_30_min * 100, 1) == 96.9
    # the end of a 1-h infusion is 10 half-lives
    assert summary.cmax_units_per_l == pytest.approx(72.1347520 * (1 - 2 ** -10), rel=1e-8)
    assert summary.time_of_cmax_min == 60
    assert summary.auc_units_h_per_l == pytest.approx(4200 / summary.clearance_l_per_h)
    assert summary.time_to_90_percent_min == pytest.approx(6 * math.log2(10))
    assert summary.time_to_97_percent_min == pytest.approx(6 * math.log2(1 / 0.03))
    assert summary.reaches_90_percent_during_infusion
    assert summary.reaches_97_percent_during_infusion
    assert summary.alerts == ()


def test_a_volume_in_litres_gives_the_same_patient(imiglucerase: Monograph) -> None:
    per_kg = simulate_infusion(ISSUE_CHECK, imiglucerase)
    in_litres = simulate_infusion(PkRequest(weight_kg=70, dose_units_per_kg=60, duration_min=60,
                                            half_life_min=6, volume_l=8.4), imiglucerase)
    assert in_litres.steady_state_units_per_l == pytest.approx(per_kg.steady_state_units_per_l)


def test_the_curve_halves_every_half_life_after_the_infusion() -> None:
    rate = elimination_rate_per_h(6.0)
    infusion = [Infusion(0.0, 4200.0, 1.0)]
    end, later, much_later = plasma_activity_units_per_l([1.0, 1.1, 1.3], infusion, rate, 8.4)
    assert later == pytest.approx(end / 2, rel=1e-12)
    assert much_later == pytest.approx(end / 8, rel=1e-12)
    assert plasma_activity_units_per_l([0.0, 1.0], infusion, rate, 8.4)[0] == 0.0


def test_the_typical_patient_is_the_centre_of_the_monograph_ranges(
        imiglucerase: Monograph) -> None:
    assert typical_half_life_min(imiglucerase) == pytest.approx(math.sqrt(3.6 * 10.4))
    assert typical_volume_l_per_kg(imiglucerase) == pytest.approx(math.sqrt(0.09 * 0.15))
    summary = simulate_infusion(PkRequest(weight_kg=70, dose_units_per_kg=60), imiglucerase)
    assert summary.duration_min == 120  # the monograph's default duration
    assert "typical" in summary.half_life_basis
    assert "typical" in summary.volume_basis


def _ode_solution(times_h: np.ndarray, infusions: list[Infusion], rate: float,
                  volume: float) -> np.ndarray:
    """dC/dt = R(t)/V - kC solved numerically, segment by segment between rate changes."""
    from scipy.integrate import solve_ivp

    moments = sorted({0.0, float(times_h[-1]), *(i.start_h for i in infusions),
                      *(i.end_h for i in infusions)})
    moments = [m for m in moments if 0.0 <= m <= times_h[-1]]
    values = np.zeros_like(times_h)
    level = 0.0
    scale = max(i.rate_units_per_h for i in infusions) / (rate * volume)
    for left, right in itertools.pairwise(moments):
        infusing = sum(i.rate_units_per_h for i in infusions
                       if i.start_h <= left and right <= i.end_h)
        here = (times_h >= left) & (times_h <= right)
        wanted = np.unique(np.append(times_h[here], right))
        solution = solve_ivp(lambda _, c, r=infusing: r / volume - rate * c, (left, right),
                             [level], method="DOP853", t_eval=wanted, rtol=1e-12,
                             atol=1e-14 * scale)
        values[here] = np.interp(times_h[here], wanted, solution.y[0])  # exact: same points
        level = float(solution.y[0, -1])
    return values


def test_the_closed_form_agrees_with_solve_ivp_on_random_calendars() -> None:
    generator = np.random.default_rng(20261127)
    for _ in range(12):
        count = int(generator.integers(1, 4))
        infusions = [Infusion(float(generator.uniform(0, 3)), float(generator.uniform(100, 9000)),
                              float(generator.uniform(0.1, 2))) for _ in range(count)]
        rate = float(elimination_rate_per_h(generator.uniform(2, 40)))
        volume = float(generator.uniform(2, 30))
        times = np.linspace(0, max(i.end_h for i in infusions) + 1.0, 150)
        exact = plasma_activity_units_per_l(times, infusions, rate, volume)
        numerical = _ode_solution(times, infusions, rate, volume)
        meaningful = exact > 1e-6 * exact.max()
        assert meaningful.sum() > 50
        relative = np.abs(exact[meaningful] - numerical[meaningful]) / exact[meaningful]
        assert relative.max() < 1e-6


@settings(max_examples=60)
@given(half_lives_min, volumes_l, infusion_doses_units, infusion_hours)
def test_activity_is_never_negative_rises_during_the_infusion_and_falls_after(
        half_life_min: float, volume_l: float, dose_units: float, duration_h: float) -> None:
    rate = elimination_rate_per_h(half_life_min)
    infusion = [Infusion(0.0, dose_units, duration_h)]
    during = np.linspace(0, duration_h, 80)
    after = np.linspace(duration_h, duration_h + 20 * half_life_min / 60, 80)
    rising = plasma_activity_units_per_l(during, infusion, rate, volume_l)
    falling = plasma_activity_units_per_l(after, infusion, rate, volume_l)
    assert np.all(rising >= 0)
    assert np.all(falling >= 0)
    assert np.all(np.diff(rising) >= 0)
    assert np.all(np.diff(falling) <= 0)
    plateau = dose_units / duration_h / (rate * volume_l)
    assert np.all(rising <= plateau * (1 + 1e-12))


@settings(max_examples=60)
@given(half_lives_min, volumes_l, st.lists(st.tuples(
    st.floats(min_value=0, max_value=10), infusion_doses_units, infusion_hours),
    min_size=1, max_size=3))
def test_the_area_under_the_curve_is_the_total_dose_over_clearance(
        half_life_min: float, volume_l: float,
        calendar: list[tuple[float, float, float]]) -> None:
    rate = float(elimination_rate_per_h(half_life_min))
    infusions = [Infusion(start, dose, duration) for start, dose, duration in calendar]
    auc = float(area_under_curve_units_h_per_l(infusions, rate, volume_l))
    assert auc == pytest.approx(sum(i.dose_units for i in infusions) / (rate * volume_l))
    # numerical quadrature of the curve itself: Gauss-Legendre on pieces that never straddle a
    # start or an end and span at most 4 half-lives near them, where the curve changes fast
    half_life_h = math.log(2) / rate
    breaks = sorted({m for i in infusions for m in (i.start_h, i.end_h)})
    horizon = breaks[-1] + 80 * half_life_h  # what is left after is below 2^-80 of the peak
    cuts = {0.0, horizon, *breaks}
    for moment in breaks:
        cuts |= {moment + 4 * step * half_life_h for step in range(1, 21)}
    pieces = sorted(cut for cut in cuts if cut <= horizon)
    nodes, weights = np.polynomial.legendre.leggauss(40)
    times, spans = [], []
    for left, right in itertools.pairwise(pieces):
        times.append((right - left) / 2 * nodes + (right + left) / 2)
        spans.append((right - left) / 2 * weights)
    order = np.argsort(np.concatenate(times))
    at = np.concatenate(times)[order]
    area = math.fsum(plasma_activity_units_per_l(at, infusions, rate, volume_l)
                     * np.concatenate(spans)[order])
    assert area == pytest.approx(auc, rel=1e-9)


@settings(max_examples=40)
@given(half_lives_min, volumes_l, st.lists(st.tuples(
    st.floats(min_value=0, max_value=4), infusion_doses_units, infusion_hours),
    min_size=1, max_size=3))
def test_a_calendar_is_the_sum_of_its_infusions_and_peaks_on_a_start_or_end(
        half_life_min: float, volume_l: float,
        calendar: list[tuple[float, float, float]]) -> None:
    rate = elimination_rate_per_h(half_life_min)
    infusions = [Infusion(start, dose, duration) for start, dose, duration in calendar]
    times = np.linspace(0, 12, 400)
    together = plasma_activity_units_per_l(times, infusions, rate, volume_l)
    apart = sum(plasma_activity_units_per_l(times, [i], rate, volume_l) for i in infusions)
    np.testing.assert_allclose(together, apart, rtol=1e-12, atol=1e-300)
    peak, when = peak_activity(infusions, rate, volume_l)
    assert peak >= together.max() * (1 - 1e-12)
    assert float(plasma_activity_units_per_l([float(when)], infusions, rate, volume_l)[0]) \
        == pytest.approx(float(peak))


def test_many_patients_at_once_equal_one_at_a_time() -> None:
    rates = elimination_rate_per_h(np.array([3.6, 6.0, 10.4]))
    volumes = np.array([6.3, 8.4, 10.5])
    times = np.linspace(0, 2, 50)
    infusion = [Infusion(0.0, 4200.0, 1.0)]
    together = plasma_activity_units_per_l(times, infusion, rates, volumes)
    assert together.shape == (3, 50)
    for row, (rate, volume) in enumerate(zip(rates, volumes, strict=True)):
        np.testing.assert_array_equal(
            together[row], plasma_activity_units_per_l(times, infusion, rate, volume))


def test_an_antibody_positive_patient_has_a_smaller_volume_and_a_longer_half_life(
        imiglucerase: Monograph) -> None:
    base = simulate_infusion(ISSUE_CHECK, imiglucerase)
    positive = simulate_infusion(PkRequest(weight_kg=70, dose_units_per_kg=60, duration_min=60,
                                           half_life_min=6, volume_l_per_kg=0.12,
                                           antibody_positive=True), imiglucerase)
    factors = imiglucerase.pk_simulation.antibody_factors
    assert positive.volume_l == pytest.approx(8.4 * factors.volume_of_distribution_factor)
    assert positive.clearance_l_per_h == pytest.approx(base.clearance_l_per_h
                                                       * factors.clearance_factor)
    assert positive.half_life_min > base.half_life_min
    assert positive.antibody.factors_verified is False
    [alert] = positive.alerts
    assert alert.code == "pk-antibody-factors-illustrative"
    assert alert.verified is False
    assert "illustrative default" in alert.message


def test_given_antibody_factors_that_contradict_the_monograph_are_computed_and_flagged(
        imiglucerase: Monograph) -> None:
    summary = simulate_infusion(PkRequest(weight_kg=70, dose_units_per_kg=60,
                                          antibody_positive=True, antibody_volume_factor=1.2,
                                          antibody_clearance_factor=0.9), imiglucerase)
    codes = {alert.code for alert in summary.alerts}
    assert codes == {"pk-antibody-factors-illustrative", "pk-antibody-factors-contradict"}
    assert summary.antibody.volume_factor == 1.2
    assert any("user-given" in alert.message for alert in summary.alerts)


def test_a_half_life_outside_the_monograph_is_used_as_given_and_flagged(
        imiglucerase: Monograph) -> None:
    summary = simulate_infusion(PkRequest(weight_kg=70, dose_units_per_kg=60, duration_min=60,
                                          half_life_min=30, volume_l_per_kg=0.2), imiglucerase)
    assert summary.half_life_min == 30
    assert [a.code for a in summary.alerts] == ["pk-parameter-outside-range"] * 2
    # 90 % takes 3.3 half-lives = 100 min: not reached in a 60-min infusion, and said so
    assert not summary.reaches_90_percent_during_infusion
    assert any("not reached" in note for note in summary.notes)


def test_every_pharmacokinetic_alert_can_be_raised(imiglucerase: Monograph) -> None:
    raised = set()
    for request in [
        PkRequest(weight_kg=70, dose_units_per_kg=60, half_life_min=30),
        PkRequest(weight_kg=70, dose_units_per_kg=60, antibody_positive=True,
                  antibody_volume_factor=1.5),
    ]:
        raised |= {alert.code for alert in simulate_infusion(request, imiglucerase).alerts}
    assert raised == {code for code in imiglucerase.alerts if code.startswith("pk-")}


@pytest.mark.parametrize(("change", "field"), [
    ({"half_life_min": 0}, "half-life"),
    ({"half_life_min": -6}, "half-life"),
    ({"half_life_min": math.nan}, "half-life"),
    ({"volume_l_per_kg": 0}, "volume"),
    ({"volume_l": -8.4}, "volume"),
    ({"volume_l": 8.4, "volume_l_per_kg": 0.12}, "volume"),
    ({"duration_min": 0}, "duration"),
    ({"duration_min": -60}, "duration"),
    ({"dose_units_per_kg": 0}, "dose"),
    ({"weight_kg": -70}, "weight"),
    ({"antibody_positive": True, "antibody_clearance_factor": 0}, "antibody-clearance-factor"),
    ({"antibody_volume_factor": 0.8}, "antibody-volume-factor"),
])
def test_impossible_parameters_are_refused_naming_the_field(
        imiglucerase: Monograph, change: dict[str, float], field: str) -> None:
    values: dict[str, object] = {"weight_kg": 70, "dose_units_per_kg": 60, **change}
    with pytest.raises(InputError) as refused:
        simulate_infusion(PkRequest(**values), imiglucerase)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_the_kernel_refuses_impossible_parameters() -> None:
    with pytest.raises(InputError, match="half-life"):
        plasma_activity_units_per_l([0.5], [Infusion(0, 100, 1)], 0.0, 8.4)
    with pytest.raises(InputError, match="volume"):
        plasma_activity_units_per_l([0.5], [Infusion(0, 100, 1)], 1.0, [8.4, -1.0])
    with pytest.raises(InputError, match="duration"):
        plasma_activity_units_per_l([0.5], [Infusion(0, 100, 0)], 1.0, 8.4)
    with pytest.raises(InputError, match="ascending"):
        plasma_activity_units_per_l([0.5, 0.1], [Infusion(0, 100, 1)], 1.0, 8.4)
    with pytest.raises(InputError, match="infusions"):
        plasma_activity_units_per_l([0.5], [], 1.0, 8.4)
