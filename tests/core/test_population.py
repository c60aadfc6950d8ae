"""Virtual populations: reproducible for a seed, equal across chunk sizes and on Dask, and their
percentiles true to the patients they summarise."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.core.pk import elimination_rate_per_h
from ertplan.core.population import (
    BAND_BINS,
    METRIC_BINS,
    LogBins,
    PopulationRequest,
    WeightDistribution,
    chunk_bounds,
    draw_patients,
    population_spec,
    resolve_backend,
    simulate_chunk,
    simulate_population,
)

ADULTS = WeightDistribution("normal", 70, 15, 0.5, 350)
REQUEST = PopulationRequest(n_patients=20_000, seed=7, dose_units_per_kg=60, weights=ADULTS,
                            duration_min=60)


def test_the_same_seed_gives_the_same_population(imiglucerase: Monograph) -> None:
    first = simulate_population(REQUEST, imiglucerase)
    again = simulate_population(REQUEST, imiglucerase)
    assert first == again
    other = simulate_population(
        PopulationRequest(**{**REQUEST.__dict__, "seed": 8}), imiglucerase)
    assert other.cmax_units_per_l != first.cmax_units_per_l


def test_the_summary_is_the_same_for_any_chunk_size(imiglucerase: Monograph) -> None:
    whole = simulate_population(REQUEST, imiglucerase, chunk_patients=REQUEST.n_patients)
    for chunk in (997, 4096, 7777):
        assert simulate_population(REQUEST, imiglucerase, chunk_patients=chunk) == whole


def test_a_patient_is_the_same_whatever_the_population_size(imiglucerase: Monograph) -> None:
    small = population_spec(PopulationRequest(**{**REQUEST.__dict__, "n_patients": 5000}),
                            imiglucerase)
    large = population_spec(REQUEST, imiglucerase)
    few, many = draw_patients(small, 0, 5000), draw_patients(large, 4000, 9000)
    np.testing.assert_array_equal(few.half_life_min[4000:], many.half_life_min[:1000])
    np.testing.assert_array_equal(few.weight_kg[4000:], many.weight_kg[:1000])


def test_a_dask_cluster_gives_the_local_result(imiglucerase: Monograph, dask_client: Any) -> None:
    from ertplan.cluster import dask_runner

    local = simulate_population(REQUEST, imiglucerase)
    on_dask = simulate_population(REQUEST, imiglucerase, chunk_patients=3000,
                                  run_chunks=dask_runner(dask_client))
    assert on_dask == local


def test_the_percentiles_are_those_of_the_patients_within_the_stated_resolution(
        imiglucerase: Monograph) -> None:
    summary = simulate_population(REQUEST, imiglucerase)
    spec = population_spec(REQUEST, imiglucerase)
    patients = draw_patients(spec, 0, REQUEST.n_patients)
    rate = elimination_rate_per_h(patients.half_life_min)
    t90_min = math.log(10) / rate * 60
    volume = patients.volume_l_per_kg * patients.weight_kg
    auc = 60 * patients.weight_kg / (rate * volume)
    tolerance = METRIC_BINS.resolution_percent / 100
    for metric, values in ((summary.time_to_90_percent_min, t90_min),
                           (summary.auc_units_h_per_l, auc)):
        for label, value in metric.percentiles.items():
            exact = np.percentile(values, float(label), method="inverted_cdf")
            assert value == pytest.approx(exact, rel=tolerance)
        assert metric.minimum == values.min()
        assert metric.maximum == values.max()
    reaching = np.count_nonzero(t90_min <= 30)
    assert summary.share_reaching_90_percent_by_30_min_percent == pytest.approx(
        100 * reaching / REQUEST.n_patients)
    assert summary.antibody_positive_patients == np.count_nonzero(patients.antibody_positive)


def test_the_band_is_the_percentiles_of_the_patients_curves(imiglucerase: Monograph) -> None:
    from ertplan.core.pk import Infusion, plasma_activity_units_per_l

    request = PopulationRequest(**{**REQUEST.__dict__, "n_patients": 3000})
    summary = simulate_population(request, imiglucerase)
    spec = population_spec(request, imiglucerase)
    patients = draw_patients(spec, 0, 3000)
    curves = plasma_activity_units_per_l(
        np.asarray(summary.band.t_min) / 60, [Infusion(0, 1, 1)],
        elimination_rate_per_h(patients.half_life_min),
        patients.volume_l_per_kg * patients.weight_kg) * (60 * patients.weight_kg)[:, None]
    for label, band in summary.band.units_per_l.items():
        exact = np.percentile(curves, float(label), axis=0, method="inverted_cdf")
        exact = np.where(exact < 2.0 ** BAND_BINS.lowest_octave, 0.0, exact)
        np.testing.assert_allclose(band, exact, rtol=BAND_BINS.resolution_percent / 100)
    assert summary.band.units_per_l["50"][0] == 0.0  # nothing infused yet at t = 0


def test_a_third_of_a_population_at_3_6_to_10_4_min_reaches_90_percent_by_30_min_or_more(
        imiglucerase: Monograph) -> None:
    # without antibodies every half-life up to 30 / log2(10) = 9.03 min reaches 90 % by 30 min:
    # log-uniformly, ln(9.03/3.6) / ln(10.4/3.6) = 86.8 % of patients
    request = PopulationRequest(**{**REQUEST.__dict__, "antibody_positive_percent": 0.0})
    summary = simulate_population(request, imiglucerase)
    expected = math.log(30 / math.log2(10) / 3.6) / math.log(10.4 / 3.6) * 100
    assert summary.share_reaching_90_percent_by_30_min_percent == pytest.approx(expected, abs=1)
    assert summary.antibody_positive_patients == 0
    assert not any(alert.code.startswith("pk-antibody") for alert in summary.alerts)


def test_weight_distributions_stay_inside_their_bounds() -> None:
    uniform = np.random.default_rng(3).random(50_000)
    wide = WeightDistribution("normal", 20, 40, 0.5, 350).weights_kg(uniform)
    assert wide.min() >= 0.5
    assert wide.max() <= 350
    log_normal = WeightDistribution("lognormal", 70, 0.25, 0.5, 350).weights_kg(uniform)
    assert np.median(log_normal) == pytest.approx(70, rel=0.01)
    flat = WeightDistribution("uniform", 40, 100).weights_kg(uniform)
    assert 40 <= flat.min() < flat.max() < 100
    given = WeightDistribution("empirical", values=(50.0, 61.5, 80.0)).weights_kg(uniform)
    assert set(np.unique(given)) == {50.0, 61.5, 80.0}
    assert np.all(WeightDistribution("fixed", 70).weights_kg(uniform) == 70)


def test_log_bins_place_each_value_within_their_resolution() -> None:
    values = np.array([1e-9, 0.37, 1.0, 72.1347, 4200.0, 1e8])
    centres = METRIC_BINS.centre(METRIC_BINS.index(values))
    np.testing.assert_allclose(centres, values, rtol=METRIC_BINS.resolution_percent / 100)
    bins = LogBins(subbin_bits=4, lowest_octave=-2, highest_octave=2)
    assert bins.index(np.array([0.0, 0.1, 100.0])).tolist() == [0, 0, bins.count - 1]


def test_a_chunk_tally_has_the_same_size_whatever_its_patients(imiglucerase: Monograph) -> None:
    spec = population_spec(REQUEST, imiglucerase)
    small, large = simulate_chunk(spec, 0, 10), simulate_chunk(spec, 10, 5010)
    assert small.metric_counts.shape == large.metric_counts.shape
    assert small.band_counts.nbytes == large.band_counts.nbytes
    assert large.band_counts.sum() == 5000 * len(spec.times_min)


@pytest.mark.parametrize(("change", "field"), [
    ({"n_patients": 0}, "n"),
    ({"n_patients": -5}, "n"),
    ({"seed": -1}, "seed"),
    ({"dose_units_per_kg": 0}, "dose"),
    ({"duration_min": 0}, "duration"),
    ({"antibody_positive_percent": 101}, "antibody-positive"),
    ({"percentiles": (50, 120)}, "percentiles"),
    ({"antibody_volume_factor": -1}, "antibody-volume-factor"),
])
def test_impossible_populations_are_refused_naming_the_field(
        imiglucerase: Monograph, change: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as refused:
        simulate_population(PopulationRequest(**{**REQUEST.__dict__, **change}),
                            imiglucerase)
    assert refused.value.field == field


def test_chunks_cover_every_patient_once() -> None:
    bounds = chunk_bounds(100_001, 4096)
    assert bounds[0][0] == 0
    assert bounds[-1][1] == 100_001
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    with pytest.raises(InputError, match="chunk-size"):
        chunk_bounds(10, 0)


def test_one_weight_for_everyone_gives_exactly_that_dose(imiglucerase: Monograph) -> None:
    request = PopulationRequest(**{**REQUEST.__dict__, "n_patients": 500,
                                   "weights": WeightDistribution("fixed", 70)})
    dose = simulate_population(request, imiglucerase).dose_units
    assert dose.minimum == dose.maximum == 4200
    assert set(dose.percentiles.values()) == {4200}


# ---- the walk through the grid: the recurrence, the compiled kernel and the NumPy reference ----

def closed_form_band(spec: Any, start: int, stop: int) -> np.ndarray:
    """The band counts of patients `start`..`stop` - 1 the way ertplan counted them before the
    recurrence: every curve evaluated in closed form (one exponential per point), then binned."""
    from ertplan.core.pk import Infusion, activity_time_major

    patients = draw_patients(spec, start, stop)
    rate = elimination_rate_per_h(patients.half_life_min)
    curves = activity_time_major(np.asarray(spec.times_min) / 60,
                                 [Infusion(0.0, 1.0, spec.duration_min / 60)], rate,
                                 patients.volume_l_per_kg * patients.weight_kg)
    curves *= spec.dose_units_per_kg * patients.weight_kg
    return np.stack([BAND_BINS.histogram(row) for row in curves])


GRIDS = [
    {},
    {"duration_min": 120, "antibody_positive_percent": 40.0},
    {"weights": WeightDistribution("lognormal", 20, 0.5, 0.5, 350), "duration_min": 20},
    {"duration_min": 240, "antibody_positive_percent": 100.0, "antibody_volume_factor": 1.3,
     "antibody_clearance_factor": 0.2},
]
GRID_IDS = ["adults-1h", "many-antibody-positive-2h", "children-20min", "slow-4h"]


@pytest.mark.parametrize("change", GRIDS, ids=GRID_IDS)
def test_the_recurrence_counts_what_the_closed_form_curves_counted(
        imiglucerase: Monograph, change: dict[str, object]) -> None:
    # the values differ from the closed form's by about 1e-14 of themselves, a bin is 0.4 %
    # wide: the counts are the same, count for count, as before the curves stopped existing
    spec = population_spec(PopulationRequest(**{**REQUEST.__dict__, **change}), imiglucerase)
    np.testing.assert_array_equal(simulate_chunk(spec, 0, 20_000).band_counts,
                                  closed_form_band(spec, 0, 20_000))


@pytest.mark.parametrize("change", GRIDS, ids=GRID_IDS)
def test_the_compiled_kernel_counts_what_the_numpy_reference_counts(
        imiglucerase: Monograph, change: dict[str, object],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ertplan.core import band_kernel

    assert band_kernel.compiled_band_counter() is not None  # Numba is installed here and in CI
    spec = population_spec(PopulationRequest(**{**REQUEST.__dict__, **change}), imiglucerase)
    compiled = simulate_chunk(spec, 100, 20_100)
    monkeypatch.setattr(band_kernel, "compiled_band_counter", lambda: None)
    reference = simulate_chunk(spec, 100, 20_100)
    np.testing.assert_array_equal(compiled.band_counts, reference.band_counts)
    np.testing.assert_array_equal(compiled.metric_counts, reference.metric_counts)


def test_the_kernel_and_the_reference_agree_on_any_grid_and_factors() -> None:
    from ertplan.core import band_kernel
    from ertplan.core.population import count_band_numpy

    kernel = band_kernel.compiled_band_counter()
    assert kernel is not None
    generator = np.random.default_rng(5)
    # factors spanning the bins' whole range and past it, patients not a multiple of the block
    patients, kinds = band_kernel.PATIENTS_AT_ONCE * 2 + 37, 4
    decay = np.exp(-generator.uniform(0, 3, (kinds, patients)))
    gain = 10.0 ** generator.uniform(-12, 12, (kinds, patients))
    gain[0] = 0.0
    kind_of_time = generator.integers(0, kinds, 50)
    expected = np.zeros((50, BAND_BINS.count), dtype=np.int64)
    count_band_numpy(decay, gain, kind_of_time, expected)
    actual = np.zeros_like(expected)
    kernel(decay, gain, kind_of_time, actual, *BAND_BINS.bit_layout)
    np.testing.assert_array_equal(actual, expected)
    assert actual.sum() == 50 * patients


def test_without_numba_the_population_is_the_same(imiglucerase: Monograph,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from ertplan.core import band_kernel

    compiled = simulate_population(REQUEST, imiglucerase)
    monkeypatch.setattr(band_kernel, "compiled_band_counter", lambda: None)
    assert simulate_population(REQUEST, imiglucerase) == compiled


def test_numba_missing_means_no_kernel_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from ertplan.core import band_kernel

    monkeypatch.setitem(sys.modules, "numba", None)  # as if Numba were not installed
    band_kernel.compiled_band_counter.cache_clear()
    try:
        assert band_kernel.compiled_band_counter() is None
    finally:
        band_kernel.compiled_band_counter.cache_clear()


def test_a_grid_walk_has_few_kinds_of_step(imiglucerase: Monograph) -> None:
    from ertplan.core.population import grid_walk

    spec = population_spec(PopulationRequest(**{**REQUEST.__dict__, "duration_min": None}),
                           imiglucerase)
    walk = grid_walk(spec.times_min, spec.duration_min)
    assert len(walk.kind_of_time) == len(spec.times_min) == 201  # 200 points and the end
    # to t = 0, regular during, into the end, out of the end, regular after
    assert len(walk.steps_min) == 5
    lengths = np.cumsum([walk.steps_min[kind][0] for kind in walk.kind_of_time])
    np.testing.assert_allclose(lengths, spec.times_min, rtol=1e-13, atol=1e-12)
    with pytest.raises(InputError, match="times"):
        grid_walk((0.0, 2.0, 1.0), 1.0)


def test_threads_give_the_one_by_one_result(imiglucerase: Monograph) -> None:
    from ertplan.cluster import thread_runner

    local = simulate_population(REQUEST, imiglucerase)
    for threads in (1, 2, 3):
        assert simulate_population(REQUEST, imiglucerase, chunk_patients=3000,
                                   run_chunks=thread_runner(threads)) == local
    with pytest.raises(InputError, match="workers"):
        thread_runner(0)


# ---- the JAX backend (run on CPU JAX here and in CI: no GPU is needed or exercised) ----------
#
# The JAX path evaluates the same float64 formulas in the same order; only exp and expm1 are
# XLA's own, so a figure may differ from NumPy's in its last bits (~1e-16 relative). A count
# changes only if a value lies within those bits of a bin's edge (~2**-44 per value): the
# histograms, hence every percentile, must be identical, and the exact extremes equal to 1e-12.
EXTREMES_RTOL = 1e-12


def jax_request(**change: object) -> PopulationRequest:
    return PopulationRequest(**{**REQUEST.__dict__, "backend": "jax", **change})


@pytest.mark.parametrize("change", [
    {},
    {"duration_min": 120, "antibody_positive_percent": 40.0},
    {"weights": WeightDistribution("lognormal", 20, 0.5, 0.5, 350), "duration_min": 20},
], ids=["adults-1h", "many-antibody-positive-2h", "children-20min"])
def test_the_jax_backend_tallies_the_same_patients_as_numpy(
        imiglucerase: Monograph, change: dict[str, object]) -> None:
    with_jax = population_spec(jax_request(n_patients=5000, **change), imiglucerase)
    with_numpy = population_spec(PopulationRequest(**{**REQUEST.__dict__, "n_patients": 5000,
                                                      **change}), imiglucerase)
    for start, stop in ((0, 5000), (1234, 1300)):
        expected, actual = simulate_chunk(with_numpy, start, stop), simulate_chunk(
            with_jax, start, stop)
        assert actual.patients == expected.patients == stop - start
        assert actual.antibody_positive == expected.antibody_positive
        assert actual.reaching_90_percent_by_mark == expected.reaching_90_percent_by_mark
        np.testing.assert_array_equal(actual.metric_counts, expected.metric_counts)
        np.testing.assert_array_equal(actual.band_counts, expected.band_counts)
        np.testing.assert_allclose(actual.minimum, expected.minimum, rtol=EXTREMES_RTOL)
        np.testing.assert_allclose(actual.maximum, expected.maximum, rtol=EXTREMES_RTOL)


def test_the_jax_backend_gives_the_numpy_summary_for_the_same_seed(
        imiglucerase: Monograph) -> None:
    expected = simulate_population(REQUEST, imiglucerase)
    # 7777 patients a chunk: padded blocks, and a last chunk of another size
    actual = simulate_population(jax_request(), imiglucerase, chunk_patients=7777)
    assert (actual.backend, actual.backend_device) == ("jax", "cpu")
    assert (expected.backend, expected.backend_device) == ("numpy", "cpu")
    assert actual.band == expected.band
    assert (actual.share_reaching_90_percent_by_30_min_percent
            == expected.share_reaching_90_percent_by_30_min_percent)
    for name in ("cmax_units_per_l", "auc_units_h_per_l", "time_to_90_percent_min",
                 "time_to_97_percent_min", "dose_units"):
        got, want = getattr(actual, name), getattr(expected, name)
        assert got.percentiles == want.percentiles, name
        assert got.minimum == pytest.approx(want.minimum, rel=EXTREMES_RTOL), name
        assert got.maximum == pytest.approx(want.maximum, rel=EXTREMES_RTOL), name
    assert actual.notes[:len(expected.notes)] == expected.notes
    assert "JAX on cpu" in actual.notes[-1]


def test_the_jax_backend_leaves_jax_in_float32_for_everyone_else(
        imiglucerase: Monograph) -> None:
    import jax.numpy as jnp

    simulate_population(jax_request(n_patients=100), imiglucerase)
    assert jnp.asarray(1.0).dtype == jnp.float32


def test_auto_picks_jax_only_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from ertplan.core import population

    assert resolve_backend("numpy") == "numpy"
    assert resolve_backend("jax") == "jax"  # on whatever device JAX has (the CPU here)
    monkeypatch.setattr(population, "jax_platform", lambda: "cpu")
    assert resolve_backend("auto") == "numpy"
    monkeypatch.setattr(population, "jax_platform", lambda: "gpu")
    assert resolve_backend("auto") == "jax"
    with pytest.raises(InputError, match="numpy, jax or auto"):
        resolve_backend("cupy")


def test_without_jax_auto_falls_back_to_numpy_and_jax_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "jax", None)  # as if JAX were not installed
    assert resolve_backend("auto") == "numpy"
    with pytest.raises(InputError, match=r"ertplan\[accel\]") as refused:
        resolve_backend("jax")
    assert refused.value.field == "backend"


def test_the_numpy_backend_never_imports_jax() -> None:
    import subprocess
    import sys

    code = ("import sys\n"
            "from ertplan.core.monograph import load_monograph, monograph_path\n"
            "from ertplan.core.population import PopulationRequest, WeightDistribution, "
            "resolve_backend, simulate_population\n"
            "simulate_population(PopulationRequest(n_patients=100, seed=1, "
            "dose_units_per_kg=60, weights=WeightDistribution('fixed', 70), "
            "backend=resolve_backend('numpy')), load_monograph(monograph_path('imiglucerase')))\n"
            "print('jax' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert loaded.stdout.strip() == "False"
