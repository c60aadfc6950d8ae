"""Virtual populations: thousands to millions of patients, simulated in chunks of bounded memory.

Reproducibility. Patient i belongs to random block i // RANDOM_BLOCK; each block draws its own
uniform numbers from ``SeedSequence(seed, spawn_key=(block,))`` in a fixed layout, and every
parameter is the inverse CDF of one of those numbers. A patient's parameters therefore depend only
on the seed and its index: not on N, not on the chunk size, not on which machine ran the chunk.

Aggregation. A chunk returns a :class:`Tally` of integer counts only: histograms of each metric
and of the activity at each time point on fixed logarithmic bins (the float's own exponent and top
mantissa bits), the count of antibody-positive patients and of those reaching 90 % of steady state
by the monograph's mark, and the exact minimum and maximum. Adding integers is exact and does not
depend on order, so the summary is the same for any chunk size, locally or on a Dask cluster, and
memory stays bounded whatever N. Percentiles are nearest-rank percentiles read from the bins: each
is the centre of the bin holding that rank, within half a bin (``resolution_percent``) of the exact
value.

Curves that never exist. The activity of each patient at each sample time is made by a
recurrence (:class:`GridWalk`, ``pk.step_factors``): one multiply-add per time from a few
exponentials per patient, counted in its bin as it is made. A chunk works through its patients in
blocks (``BLOCK_PATIENTS``), so its memory is set by the block and the tally, not by its size.

Backends. On the CPU (``backend="numpy"``) the per-patient figures and step factors are NumPy's,
and the walk through the grid is a compiled kernel (``ertplan.core.band_kernel``, Numba) where
Numba is installed, else :func:`count_band_numpy`, the reference the kernel is tested against:
both make the same floats, so the counts are identical. On JAX (``backend="jax"``: its default
device, a GPU when it has one) the figures and the closed-form curves are computed in float64 by
the same formulas. Only they move: the random draws stay on NumPy's seeded generator, so a patient
is the same whatever the backend. JAX and Numba are imported only when they run.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ertplan.core import band_kernel
from ertplan.core.alerts import Alert, by_severity
from ertplan.core.dosing import require_positive
from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.core.pk import (
    MINUTES_PER_HOUR,
    NINETY_PERCENT,
    NINETY_SEVEN_PERCENT,
    Floats,
    antibody_scenario,
    elimination_rate_per_h,
    label_alerts,
    sample_times_min,
    step_factors,
    time_to_fraction_h,
)
from ertplan.core.preparation import VERIFICATION_NOTE

Counts = NDArray[np.int64]

# patients per random stream: fixed forever, or a seed would give other patients
RANDOM_BLOCK = 4096
# rows of a block's uniform numbers
_WEIGHT, _HALF_LIFE, _VOLUME, _ANTIBODY = range(4)
# patients drawn and simulated at once inside a chunk: a chunk's working memory, whatever its size
BLOCK_PATIENTS = 1 << 16
DEFAULT_CHUNK_PATIENTS = 1 << 20
# most patients JAX evaluates at once; fewer are padded to a power of two (few compilations)
_JAX_BLOCK = 1 << 16
Backend = Literal["numpy", "jax"]
BACKENDS: tuple[Backend, ...] = ("numpy", "jax")
DEFAULT_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
METRICS = ("cmax_units_per_l", "auc_units_h_per_l", "time_to_90_percent_min",
           "time_to_97_percent_min", "dose_units")


@dataclass(frozen=True)
class LogBins:
    """Logarithmic bins read straight from a float64's bits: 2**subbin_bits bins per octave
    between 2**lowest_octave and 2**highest_octave, plus one bin below (zero included) and one
    above. A bin's width is at most 2**-subbin_bits of its lower edge.
    """

    subbin_bits: int
    lowest_octave: int
    highest_octave: int

    @property
    def count(self) -> int:
        """Number of bins, the two open-ended ones included."""
        return ((self.highest_octave - self.lowest_octave) << self.subbin_bits) + 2

    @property
    def resolution_percent(self) -> float:
        """Largest distance from a bin's centre to its edge, in percent of the value."""
        return 100.0 * 2.0 ** -(self.subbin_bits + 1)

    @property
    def bit_layout(self) -> tuple[int, int]:
        """(shift, offset): a value's bin is (its float64 bits >> shift) - offset, clipped to
        [0, count - 1]."""
        return 52 - self.subbin_bits, ((1023 + self.lowest_octave) << self.subbin_bits) - 1

    def index(self, values: Floats) -> Counts:
        """The bin of each value (0: below the range or zero; count - 1: above it or NaN)."""
        shift, offset = self.bit_layout
        bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
        index = bits >> shift
        index -= offset
        np.clip(index, 0, self.count - 1, out=index)
        return index

    def centre(self, index: Counts) -> Floats:
        """The centre value of each bin; 0 for the bin below the range, inf for the one above."""
        inner = np.clip(index, 1, self.count - 2) - 1 + (
            (1023 + self.lowest_octave) << self.subbin_bits)
        shift = 52 - self.subbin_bits
        lower = (inner << shift).view(np.float64)
        upper = ((inner + 1) << shift).view(np.float64)
        centre = (lower + upper) / 2
        centre = np.where(index == 0, 0.0, centre)
        return np.asarray(np.where(index == self.count - 1, np.inf, centre), dtype=np.float64)

    def histogram(self, values: Floats) -> Counts:
        """Counts of `values` in each bin."""
        return np.bincount(self.index(values).ravel(), minlength=self.count).astype(np.int64)

    def count_into(self, counts: Counts, values: Floats) -> None:
        """Add the counts of `values` to `counts` (one row of bins) in place, counting only over
        the span of bins they fall in (a time's activities span a few octaves of the sixty)."""
        index = self.index(values)
        if index.size == 0:
            return
        low = int(index.min())
        index -= low
        span = np.bincount(index)
        counts[low:low + span.size] += span


# a metric to 0.012 % between 2**-40 and 2**40 of its unit; a time point of the band plot to
# 0.2 % between 1e-9 and 1e9 U/L (coarser: it has a histogram for every time point)
METRIC_BINS = LogBins(subbin_bits=12, lowest_octave=-40, highest_octave=40)
BAND_BINS = LogBins(subbin_bits=8, lowest_octave=-30, highest_octave=30)


def nearest_rank_percentiles(counts: Counts, percentiles: Sequence[float],
                             bins: LogBins) -> Floats:
    """Nearest-rank percentiles from histograms (last axis: bins), as bin centres.

    The p-th percentile is the value of rank ceil(p/100 N) (at least 1), as NumPy's
    ``method="inverted_cdf"``.
    """
    cumulative = np.cumsum(counts, axis=-1)
    total = cumulative[..., -1:]
    results = []
    for percentile in percentiles:
        rank = np.maximum(np.ceil(percentile * total / 100.0), 1)
        where = np.argmax(cumulative >= rank, axis=-1)
        results.append(bins.centre(where))
    return np.asarray(np.stack(results, axis=-1), dtype=np.float64)


# ---- weights ---------------------------------------------------------------------------------

Family = Literal["fixed", "normal", "lognormal", "uniform", "empirical"]


@dataclass(frozen=True)
class WeightDistribution:
    """Where virtual patients' weights come from.

    - ``fixed``: everyone weighs `first` kg.
    - ``normal``: mean `first` kg, standard deviation `second` kg; ``lognormal``: median `first`
      kg, `second` the standard deviation of log weight. Both truncated to [low_kg, high_kg] (the
      monograph's accepted weights) by drawing inside the truncated CDF: no patient is clamped.
    - ``uniform``: between `first` and `second` kg.
    - ``empirical``: resampled with replacement from `values` (e.g. a CSV of real weights).
    """

    family: Family
    first: float = 0.0
    second: float = 0.0
    low_kg: float = 0.0
    high_kg: float = math.inf
    values: tuple[float, ...] = ()

    def describe(self) -> str:
        """In words, for the output."""
        bounds = f"truncated to {self.low_kg:g}-{self.high_kg:g} kg"
        if self.family == "fixed":
            return f"fixed {self.first:g} kg"
        if self.family == "normal":
            return f"normal, mean {self.first:g} kg, sd {self.second:g} kg, {bounds}"
        if self.family == "lognormal":
            return f"log-normal, median {self.first:g} kg, sd of log {self.second:g}, {bounds}"
        if self.family == "uniform":
            return f"uniform {self.first:g}-{self.second:g} kg"
        return f"resampled from {len(self.values)} given weights"

    def weights_kg(self, uniform: Floats) -> Floats:
        """Weights for uniform numbers in [0, 1), by the inverse CDF."""
        if self.family == "fixed":
            return np.full_like(uniform, self.first)
        if self.family == "uniform":
            return self.first + uniform * (self.second - self.first)
        if self.family == "empirical":
            table = np.asarray(self.values, dtype=np.float64)
            picks = np.minimum((uniform * table.size).astype(np.int64), table.size - 1)
            return np.asarray(table[picks], dtype=np.float64)
        from scipy.special import ndtr, ndtri  # the normal CDF and its inverse, vectorised

        if self.family == "normal":
            low = (self.low_kg - self.first) / self.second
            high = (self.high_kg - self.first) / self.second
        else:
            low = (math.log(self.low_kg) - math.log(self.first)) / self.second
            high = (math.log(self.high_kg) - math.log(self.first)) / self.second
        cdf_low, cdf_high = float(ndtr(low)), float(ndtr(high))
        z = ndtri(cdf_low + uniform * (cdf_high - cdf_low))
        if self.family == "normal":
            weights = self.first + self.second * z
        else:
            weights = np.exp(math.log(self.first) + self.second * z)
        # the CDF's rounding can land a hair outside; the truncation bounds are the law here
        return np.asarray(np.clip(weights, self.low_kg, self.high_kg), dtype=np.float64)


# ---- the population and its chunks -------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class PopulationRequest:
    """A virtual population to simulate, in plain units. None takes the monograph's value."""

    n_patients: int
    seed: int
    dose_units_per_kg: float
    weights: WeightDistribution
    duration_min: float | None = None
    antibody_positive_percent: float | None = None
    antibody_volume_factor: float | None = None
    antibody_clearance_factor: float | None = None
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    backend: Backend = "numpy"


@dataclass(frozen=True)
class ParameterRange:
    """A parameter drawn between `lower` and `upper` by `rule`."""

    lower: float
    upper: float
    rule: Literal["log-uniform", "uniform"]

    def draw(self, uniform: Floats) -> Floats:
        """Values for uniform numbers in [0, 1)."""
        if self.rule == "log-uniform":
            span = math.log(self.upper / self.lower)
            return np.asarray(self.lower * np.exp(uniform * span), dtype=np.float64)
        return self.lower + uniform * (self.upper - self.lower)

    def describe(self, unit: str) -> str:
        """In words, for the output."""
        return f"{self.rule} between {self.lower:g} and {self.upper:g} {unit}"


@dataclass(frozen=True, kw_only=True)
class PopulationSpec:
    """Everything a chunk needs, resolved from the request and the monograph (small, picklable)."""

    n_patients: int
    seed: int
    dose_units_per_kg: float
    duration_min: float
    weights: WeightDistribution
    half_life_min: ParameterRange
    volume_l_per_kg: ParameterRange
    antibody_positive_fraction: float
    antibody_volume_factor: float
    antibody_half_life_factor: float
    steady_state_mark_min: float
    times_min: tuple[float, ...]
    backend: Backend = "numpy"


@dataclass
class Tally:
    """What a chunk of patients adds to the summary: integer counts and exact extrema only."""

    patients: int
    antibody_positive: int
    reaching_90_percent_by_mark: int
    metric_counts: Counts
    band_counts: Counts
    minimum: Floats
    maximum: Floats

    @classmethod
    def empty(cls, times: int) -> Tally:
        """The tally of no patients, for a grid of `times` sample times."""
        return cls(patients=0, antibody_positive=0, reaching_90_percent_by_mark=0,
                   metric_counts=np.zeros((len(METRICS), METRIC_BINS.count), dtype=np.int64),
                   band_counts=np.zeros((times, BAND_BINS.count), dtype=np.int64),
                   minimum=np.full(len(METRICS), np.inf),
                   maximum=np.full(len(METRICS), -np.inf))

    def add(self, other: Tally) -> Tally:
        """This tally and `other` together (integer sums, so order does not matter)."""
        return Tally(
            patients=self.patients + other.patients,
            antibody_positive=self.antibody_positive + other.antibody_positive,
            reaching_90_percent_by_mark=(self.reaching_90_percent_by_mark
                                         + other.reaching_90_percent_by_mark),
            metric_counts=self.metric_counts + other.metric_counts,
            band_counts=self.band_counts + other.band_counts,
            minimum=np.minimum(self.minimum, other.minimum),
            maximum=np.maximum(self.maximum, other.maximum),
        )

    def include(self, other: Tally) -> None:
        """Add `other` into this tally in place (what :meth:`add` returns, without new arrays:
        a tally's band histograms are tens of megabytes)."""
        self.patients += other.patients
        self.antibody_positive += other.antibody_positive
        self.reaching_90_percent_by_mark += other.reaching_90_percent_by_mark
        self.metric_counts += other.metric_counts
        self.band_counts += other.band_counts
        np.minimum(self.minimum, other.minimum, out=self.minimum)
        np.maximum(self.maximum, other.maximum, out=self.maximum)


def population_spec(request: PopulationRequest, monograph: Monograph) -> PopulationSpec:
    """Check a request and resolve it against the monograph's ranges and conventions."""
    if isinstance(request.n_patients, bool) or request.n_patients <= 0:
        raise InputError("n", "must be a whole number of patients above zero",
                         request.n_patients)
    if request.seed < 0:
        raise InputError("seed", "must be a whole number of zero or more", request.seed)
    require_positive("dose", request.dose_units_per_kg)
    duration_min = (monograph.administration_default.duration_min
                    if request.duration_min is None else request.duration_min)
    require_positive("duration", duration_min)
    percent = (monograph.pk_simulation.antibody_incidence.percent
               if request.antibody_positive_percent is None
               else request.antibody_positive_percent)
    if not (math.isfinite(percent) and 0 <= percent <= 100):
        raise InputError("antibody-positive", "must be a percentage between 0 and 100", percent)
    for value in request.percentiles:
        if not (math.isfinite(value) and 0 <= value <= 100):
            raise InputError("percentiles", "must be percentages between 0 and 100", value)
    if request.backend not in BACKENDS:
        raise InputError("backend", f"must be one of {', '.join(BACKENDS)}", request.backend)
    scenario, _ = antibody_scenario(monograph, True, request.antibody_volume_factor,
                                    request.antibody_clearance_factor)
    pk = monograph.pharmacokinetics
    sampling = monograph.pk_simulation.sampling
    simulation = monograph.pk_simulation
    times = sample_times_min(duration_min, simulation.curve_after_infusion_min,
                             simulation.curve_points)
    return PopulationSpec(
        n_patients=request.n_patients, seed=request.seed,
        dose_units_per_kg=request.dose_units_per_kg, duration_min=duration_min,
        weights=request.weights,
        half_life_min=ParameterRange(pk.half_life_min_lower, pk.half_life_min_upper,
                                     sampling.half_life),
        volume_l_per_kg=ParameterRange(pk.volume_of_distribution_l_per_kg_lower,
                                       pk.volume_of_distribution_l_per_kg_upper,
                                       sampling.volume_of_distribution),
        antibody_positive_fraction=percent / 100.0,
        antibody_volume_factor=scenario.volume_factor,
        antibody_half_life_factor=scenario.half_life_factor,
        steady_state_mark_min=pk.steady_state_reached_min,
        times_min=tuple(float(t) for t in times),
        backend=request.backend,
    )


@dataclass(frozen=True)
class Patients:
    """Drawn virtual patients, one array entry each."""

    weight_kg: Floats
    half_life_min: Floats
    volume_l_per_kg: Floats
    antibody_positive: NDArray[np.bool_]


def draw_patients(spec: PopulationSpec, start: int, stop: int) -> Patients:
    """Patients `start` to `stop` - 1 of the population (the same whatever the chunking)."""
    first_block, last_block = start // RANDOM_BLOCK, (stop - 1) // RANDOM_BLOCK
    blocks = []
    for block in range(first_block, last_block + 1):
        stream = np.random.Generator(np.random.PCG64(
            np.random.SeedSequence(spec.seed, spawn_key=(block,))))
        blocks.append(stream.random((4, RANDOM_BLOCK)))
    offset = start - first_block * RANDOM_BLOCK
    uniform = np.concatenate(blocks, axis=1)[:, offset:offset + stop - start]
    antibody = uniform[_ANTIBODY] < spec.antibody_positive_fraction
    half_life = spec.half_life_min.draw(uniform[_HALF_LIFE])
    volume = spec.volume_l_per_kg.draw(uniform[_VOLUME])
    half_life[antibody] *= spec.antibody_half_life_factor
    volume[antibody] *= spec.antibody_volume_factor
    return Patients(spec.weights.weights_kg(uniform[_WEIGHT]), half_life, volume, antibody)


def simulate_chunk(spec: PopulationSpec, start: int, stop: int) -> Tally:
    """Simulate patients `start` to `stop` - 1 and tally them (a pure function of its inputs).

    The patients go through in blocks of ``BLOCK_PATIENTS``, each drawn, simulated and counted
    into the one tally: memory is set by the block, not by the chunk.
    """
    tally = Tally.empty(len(spec.times_min))
    # the chunk's band counts in 32 bits while it runs (half the cache of 64), added at its end
    band = np.zeros(tally.band_counts.shape,
                    dtype=np.int32 if stop - start < 2**31 else np.int64)
    for first in range(start, stop, BLOCK_PATIENTS):
        patients = draw_patients(spec, first, min(first + BLOCK_PATIENTS, stop))
        if spec.backend == "jax":
            tally.include(_tally_with_jax(spec, patients))
        else:
            _count_on_cpu(spec, patients, tally, band)
    tally.band_counts += band
    return tally


# ---- the walk through the time grid -----------------------------------------------------------

@dataclass(frozen=True)
class GridWalk:
    """The sample times as steps of the recurrence ``C(t_i) = decay C(t_(i-1)) + gain``, walked
    from the start of the infusion (t = 0, activity 0).

    Each step is of a kind (its length and the part of it the infusion runs, in minutes);
    `kind_of_time` names the step that arrives at each time. The population's grid is regular
    with the end of the infusion added, so it has at most five kinds: the zero step to t = 0, the
    regular step during and after the infusion, and the two around its end. Steps that agree to a
    billionth of a minute are one kind, taken at its first step's length: linspace rounds a
    regular grid's steps in their last bits, a ten-trillionth of a minute here.

    >>> walk = grid_walk((0.0, 30.0, 60.0, 90.0, 120.0), 60.0)
    >>> walk.steps_min, walk.kind_of_time
    (((0.0, 0.0), (30.0, 30.0), (30.0, 0.0)), (0, 1, 1, 2, 2))
    """

    steps_min: tuple[tuple[float, float], ...]
    kind_of_time: tuple[int, ...]


@functools.lru_cache(maxsize=16)
def grid_walk(times_min: tuple[float, ...], duration_min: float) -> GridWalk:
    """The walk through ascending `times_min` (from 0) of an infusion of `duration_min`."""
    kinds: dict[tuple[float, float], int] = {}
    steps: list[tuple[float, float]] = []
    kind_of_time: list[int] = []
    previous = 0.0
    for time in times_min:
        length = time - previous
        if length < 0:
            raise InputError("times", "must start at 0 or later and ascend", time)
        infused = min(max(duration_min - previous, 0.0), length)
        key = (round(length, 9), round(infused, 9))
        if key not in kinds:
            kinds[key] = len(steps)
            steps.append((length, infused))
        kind_of_time.append(kinds[key])
        previous = time
    return GridWalk(tuple(steps), tuple(kind_of_time))


def count_band_numpy(decay: Floats, gain: Floats, kind_of_time: NDArray[np.int64],
                     counts: NDArray[np.int32] | Counts) -> None:
    """The reference walk: every patient's activity at each time, one time at a time across all
    patients, counted in ``BAND_BINS`` into `counts` (times x bins) as it is made.

    `decay` and `gain` hold each kind of step's factors (kinds x patients). The compiled kernel
    (``ertplan.core.band_kernel.count_band``) makes the same floats in the same order.
    """
    activity = np.zeros(decay.shape[1])
    for time, kind in enumerate(kind_of_time):
        activity *= decay[kind]
        activity += gain[kind]
        BAND_BINS.count_into(counts[time], activity)


def count_band(decay: Floats, gain: Floats, kind_of_time: NDArray[np.int64],
               counts: NDArray[np.int32] | Counts) -> None:
    """:func:`count_band_numpy`'s counts, by the compiled kernel where Numba is installed."""
    kernel = band_kernel.compiled_band_counter()
    if kernel is None:
        count_band_numpy(decay, gain, kind_of_time, counts)
    else:
        kernel(decay, gain, kind_of_time, counts, *BAND_BINS.bit_layout)


def _count_on_cpu(spec: PopulationSpec, patients: Patients, tally: Tally,
                  band: NDArray[np.int32] | Counts) -> None:
    """Count `patients` into `tally`, and their activities into `band` (times x bins): figures
    and step factors on NumPy, the walk by count_band."""
    rate = elimination_rate_per_h(patients.half_life_min)
    volume = patients.volume_l_per_kg * patients.weight_kg
    dose = spec.dose_units_per_kg * patients.weight_kg
    duration_h = spec.duration_min / MINUTES_PER_HOUR
    steady_state = dose / duration_h / (rate * volume)
    cmax = steady_state * -np.expm1(-rate * duration_h)
    t90 = time_to_fraction_h(NINETY_PERCENT, rate) * MINUTES_PER_HOUR
    t97 = time_to_fraction_h(NINETY_SEVEN_PERCENT, rate) * MINUTES_PER_HOUR
    metrics = np.stack([cmax, dose / (rate * volume), t90, t97, dose])
    tally.patients += rate.size
    tally.antibody_positive += int(np.count_nonzero(patients.antibody_positive))
    tally.reaching_90_percent_by_mark += int(np.count_nonzero(
        t90 <= min(spec.steady_state_mark_min, spec.duration_min)))
    for row, values in enumerate(metrics):
        METRIC_BINS.count_into(tally.metric_counts[row], values)
    np.minimum(tally.minimum, metrics.min(axis=1), out=tally.minimum)
    np.maximum(tally.maximum, metrics.max(axis=1), out=tally.maximum)

    walk = grid_walk(spec.times_min, spec.duration_min)
    decay = np.empty((len(walk.steps_min), rate.size))
    gain = np.empty_like(decay)
    for kind, (length, infused) in enumerate(walk.steps_min):
        step_factors(rate, steady_state, length / MINUTES_PER_HOUR, infused / MINUTES_PER_HOUR,
                     out=(decay[kind], gain[kind]))
    count_band(decay, gain, np.asarray(walk.kind_of_time, dtype=np.int64), band)


def jax_platform() -> str:
    """The kind of device JAX computes on ("cpu", "gpu", ...); InputError if JAX is missing."""
    return str(_jax_modules()[0].default_backend())


# what JAX's default_backend() names a GPU (CUDA or ROCm) in the versions ertplan accepts
_GPU_PLATFORMS = frozenset({"gpu", "cuda", "rocm"})


def resolve_backend(requested: str) -> Backend:
    """The backend that runs: numpy or jax as asked (jax must be installed), or for ``auto``
    jax when it is installed and computes on a GPU, else numpy (JAX on a CPU is no faster).
    """
    if requested == "auto":
        try:
            return "jax" if jax_platform() in _GPU_PLATFORMS else "numpy"
        except InputError:
            return "numpy"
    if requested == "jax":
        jax_platform()  # refuse now, naming the fix, rather than in the first chunk
        return "jax"
    if requested == "numpy":
        return "numpy"
    raise InputError("backend", "must be numpy, jax or auto", requested)


def _jax_modules() -> tuple[Any, Any]:
    """jax and jax.numpy (untyped here: JAX is optional, and mypy need not read it)."""
    try:
        return importlib.import_module("jax"), importlib.import_module("jax.numpy")
    except ImportError:
        raise InputError("backend", "jax needs JAX installed: pip install 'ertplan[accel]'",
                         "jax") from None


def _tally_with_jax(spec: PopulationSpec, patients: Patients) -> Tally:
    """What :func:`_count_on_cpu` counts, on JAX in float64, block by padded block.

    The figures' formulas and their order are NumPy's; only exp and expm1 are JAX's own, so a
    figure may differ in its last bits (about 1e-16 of it). The curves are the closed form at
    each time (``pk.activity_time_major``'s), where the CPU walks the recurrence: a GPU has
    exponentials to spare and takes every time at once. The two agree to about 1e-14 of a value,
    so a count differs only if a value lies that close to a bin's edge.
    """
    jax, _ = _jax_modules()
    count = patients.weight_kg.size
    block = min(_JAX_BLOCK, 1 << (count - 1).bit_length())
    kernel = _jax_kernel(spec.times_min, spec.duration_min, spec.dose_units_per_kg,
                         min(spec.steady_state_mark_min, spec.duration_min), block)
    metric_counts = np.zeros((len(METRICS), METRIC_BINS.count), dtype=np.int64)
    band = np.zeros((len(spec.times_min), BAND_BINS.count), dtype=np.int64)
    minimum = np.full(len(METRICS), np.inf)
    maximum = np.full(len(METRICS), -np.inf)
    reaching = 0
    # float64 for this computation only (JAX's default is float32); older JAX has it elsewhere
    enable_x64 = (jax.enable_x64 if hasattr(jax, "enable_x64")
                  else importlib.import_module("jax.experimental").enable_x64)
    with enable_x64(True):
        for first in range(0, count, block):
            part = slice(first, first + block)
            # padding: a harmless patient (half-life 1 min, 1 L/kg, 1 kg) that the kernel drops
            inputs = [np.pad(values[part], (0, block - values[part].size), constant_values=1.0)
                      for values in (patients.half_life_min, patients.volume_l_per_kg,
                                     patients.weight_kg)]
            result = kernel(*inputs, min(block, count - first))
            block_metrics, block_band, block_min, block_max, block_reaching = (
                np.asarray(value) for value in result)
            metric_counts += block_metrics
            band += block_band
            minimum = np.minimum(minimum, block_min)
            maximum = np.maximum(maximum, block_max)
            reaching += int(block_reaching)
    return Tally(
        patients=count,
        antibody_positive=int(np.count_nonzero(patients.antibody_positive)),
        reaching_90_percent_by_mark=reaching,
        metric_counts=metric_counts,
        band_counts=band,
        minimum=minimum,
        maximum=maximum,
    )


@functools.lru_cache(maxsize=16)
def _jax_kernel(times_min: tuple[float, ...], duration_min: float, dose_units_per_kg: float,
                mark_min: float, block: int) -> Any:
    """A compiled function of (half-lives, volumes per kg, weights, valid count) for `block`
    patients, giving the metric and band histograms, the extremes and the count reaching 90 %
    by `mark_min` of the first `valid` patients. Its figures mirror _count_on_cpu's step by
    step; its curves are the closed form."""
    jax, jnp = _jax_modules()
    duration_h = duration_min / MINUTES_PER_HOUR
    times_h = np.asarray(times_min, dtype=np.float64) / MINUTES_PER_HOUR
    # before, during and after the infusion are fixed row ranges (as activity_time_major's)
    first_during = int(np.searchsorted(times_h, 0.0, side="right"))
    first_after = int(np.searchsorted(times_h, duration_h, side="right"))
    ln2 = math.log(2)
    log_90 = -math.log1p(-NINETY_PERCENT)
    log_97 = -math.log1p(-NINETY_SEVEN_PERCENT)

    def bin_index(values: Any, bins: LogBins) -> Any:
        bits = jax.lax.bitcast_convert_type(values, jnp.int64)
        index = jnp.right_shift(bits, 52 - bins.subbin_bits)
        index = index - (((1023 + bins.lowest_octave) << bins.subbin_bits) - 1)
        return jnp.clip(index, 0, bins.count - 1)

    def tally(half_life_min: Any, volume_l_per_kg: Any, weight_kg: Any, valid: Any) -> Any:
        keep = jnp.arange(block) < valid
        rate = ln2 / (half_life_min / MINUTES_PER_HOUR)
        volume = volume_l_per_kg * weight_kg
        dose = dose_units_per_kg * weight_kg
        clearance = rate * volume
        steady_state = dose / duration_h / clearance
        cmax = steady_state * -jnp.expm1(-rate * duration_h)
        t90 = log_90 / rate * MINUTES_PER_HOUR
        t97 = log_97 / rate * MINUTES_PER_HOUR
        metrics = jnp.stack([cmax, dose / clearance, t90, t97, dose])
        reaching = jnp.count_nonzero((t90 <= mark_min) & keep)
        # a padded patient's bins fall in one extra bin past the end, then dropped
        metric_index = jnp.where(keep, bin_index(metrics, METRIC_BINS), METRIC_BINS.count)
        metric_index = metric_index + (jnp.arange(len(METRICS)) * (METRIC_BINS.count + 1))[
            :, None]
        metric_counts = jnp.bincount(metric_index.ravel(),
                                     length=len(METRICS) * (METRIC_BINS.count + 1))
        metric_counts = metric_counts.reshape(len(METRICS), -1)[:, :-1]

        plateau = (1.0 / duration_h) / clearance
        at_end = plateau * -jnp.expm1(-rate * duration_h)
        before = jnp.zeros((first_during, block))
        rising = jnp.expm1(-times_h[first_during:first_after, None] * rate) * -plateau
        falling = jnp.exp((duration_h - times_h[first_after:, None]) * rate) * at_end
        curves = jnp.concatenate([before, rising, falling]) * dose
        band_index = jnp.where(keep, bin_index(curves, BAND_BINS), BAND_BINS.count)
        band_index = band_index + (jnp.arange(len(times_h)) * (BAND_BINS.count + 1))[:, None]
        band_counts = jnp.bincount(band_index.ravel(),
                                   length=len(times_h) * (BAND_BINS.count + 1))
        band_counts = band_counts.reshape(len(times_h), -1)[:, :-1]
        minimum = jnp.min(jnp.where(keep, metrics, jnp.inf), axis=1)
        maximum = jnp.max(jnp.where(keep, metrics, -jnp.inf), axis=1)
        return metric_counts, band_counts, minimum, maximum, reaching

    return jax.jit(tally)


def chunk_bounds(n_patients: int, chunk_patients: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges of at most `chunk_patients` patients.

    >>> chunk_bounds(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    if isinstance(chunk_patients, bool) or chunk_patients <= 0:
        raise InputError("chunk-size", "must be a whole number of patients above zero",
                         chunk_patients)
    return [(start, min(start + chunk_patients, n_patients))
            for start in range(0, n_patients, chunk_patients)]


def suggested_chunk_patients(n_patients: int, workers: int) -> int:
    """Patients per chunk for `workers` running at once: about four chunks each, so that they
    finish together and a progress bar moves; whole blocks of ``BLOCK_PATIENTS``; and at most
    ``DEFAULT_CHUNK_PATIENTS``, since each chunk makes and hands back one tally (~40 MB).

    >>> suggested_chunk_patients(10_000_000, 2), suggested_chunk_patients(1_000_000, 2)
    (1048576, 131072)
    """
    per_worker = -(-n_patients // (4 * max(1, workers)))
    blocks = max(1, -(-per_worker // BLOCK_PATIENTS))
    return min(blocks * BLOCK_PATIENTS, DEFAULT_CHUNK_PATIENTS)


# a way to run chunks: local (one after another) or a cluster's; yields tallies as they finish
ChunkMapper = Callable[[PopulationSpec, Sequence[tuple[int, int]]], Iterable[Tally]]


def run_locally(spec: PopulationSpec, bounds: Sequence[tuple[int, int]]) -> Iterator[Tally]:
    """Simulate the chunks one after another in this process."""
    for start, stop in bounds:
        yield simulate_chunk(spec, start, stop)


# ---- the summary -------------------------------------------------------------------------------

@dataclass(frozen=True)
class MetricSummary:
    """A metric across the population: exact extremes and nearest-rank percentiles."""

    minimum: float
    maximum: float
    percentiles: dict[str, float]


@dataclass(frozen=True)
class Band:
    """Percentiles of plasma activity at each sampled time, for the band plot."""

    t_min: tuple[float, ...]
    units_per_l: dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class PopulationSummary:
    """What a researcher reads from a virtual population. Field names carry their units."""

    drug: str
    n_patients: int
    seed: int
    dose_units_per_kg: float
    duration_min: float
    weight_distribution: str
    half_life_sampling: str
    volume_sampling: str
    antibody_positive_percent_requested: float
    antibody_positive_patients: int
    antibody_volume_factor: float
    antibody_half_life_factor: float
    cmax_units_per_l: MetricSummary
    auc_units_h_per_l: MetricSummary
    time_to_90_percent_min: MetricSummary
    time_to_97_percent_min: MetricSummary
    dose_units: MetricSummary
    steady_state_mark_min: float
    share_reaching_90_percent_by_30_min_percent: float
    percentile_method: str
    percentile_resolution_percent: float
    band: Band
    alerts: tuple[Alert, ...]
    notes: tuple[str, ...]
    verification_note: str = VERIFICATION_NOTE
    backend: Backend = "numpy"
    backend_device: str = "cpu"


def simulate_population(
    request: PopulationRequest,
    monograph: Monograph,
    *,
    chunk_patients: int = DEFAULT_CHUNK_PATIENTS,
    run_chunks: ChunkMapper = run_locally,
    on_chunk: Callable[[int], None] | None = None,
) -> PopulationSummary:
    """Simulate a virtual population chunk by chunk and summarise it.

    `run_chunks` decides where chunks run (here by default; ertplan.cluster runs them on Dask);
    `on_chunk` is told how many patients each finished chunk held (for a progress bar). The
    summary is the same for any `chunk_patients` and any `run_chunks`.
    """
    spec = population_spec(request, monograph)
    bounds = chunk_bounds(spec.n_patients, chunk_patients)
    total = Tally.empty(len(spec.times_min))
    for tally in run_chunks(spec, bounds):
        total.include(tally)
        if on_chunk is not None:
            on_chunk(tally.patients)
    assert total.patients == spec.n_patients
    return summarise(request, spec, total, monograph)


def summarise(request: PopulationRequest, spec: PopulationSpec, tally: Tally,
              monograph: Monograph) -> PopulationSummary:
    """The population summary from the tally of all its patients."""
    labels = [f"{p:g}" for p in request.percentiles]
    metric_values = nearest_rank_percentiles(tally.metric_counts, request.percentiles,
                                             METRIC_BINS)
    # a bin's centre may lie past the exact extremes (one weight for everyone): keep it inside
    metric_values = np.clip(metric_values, tally.minimum[:, np.newaxis],
                            tally.maximum[:, np.newaxis])
    metrics = {
        name: MetricSummary(float(tally.minimum[row]), float(tally.maximum[row]),
                            dict(zip(labels, (float(v) for v in metric_values[row]),
                                     strict=True)))
        for row, name in enumerate(METRICS)
    }
    band_values = nearest_rank_percentiles(tally.band_counts, request.percentiles, BAND_BINS)
    band = Band(spec.times_min, {label: tuple(float(v) for v in band_values[:, column])
                                 for column, label in enumerate(labels)})
    alerts = label_alerts(monograph, spec.dose_units_per_kg, spec.duration_min)
    if spec.antibody_positive_fraction > 0:
        alerts += antibody_scenario(monograph, True, request.antibody_volume_factor,
                                    request.antibody_clearance_factor)[1]
    incidence = monograph.pk_simulation.antibody_incidence
    sampling = monograph.pk_simulation.sampling
    notes: tuple[str, ...] = (
        f"Half-life and volume: {sampling.reason}",
        "With both dose and volume per kg, weight cancels out of every activity figure; it "
        "changes only the dose in units.",
        f"Antibody-positive share: {spec.antibody_positive_fraction * 100:g} % "
        f"(the monograph: {incidence.text})",
        f"Percentiles are nearest-rank, each within {METRIC_BINS.resolution_percent:.3g} % "
        f"(metrics) or {BAND_BINS.resolution_percent:.2g} % (band) of the exact value; band "
        f"values below {2.0 ** BAND_BINS.lowest_octave:.1e} U/L are shown as 0.",
    )
    device = "cpu" if spec.backend == "numpy" else jax_platform()
    if spec.backend == "jax":
        notes += (f"Curves and figures computed with JAX on {device} in float64; the patients "
                  "were drawn by NumPy's generator, as with the NumPy backend.",)
    return PopulationSummary(
        drug=monograph.drug,
        n_patients=spec.n_patients,
        seed=spec.seed,
        dose_units_per_kg=spec.dose_units_per_kg,
        duration_min=spec.duration_min,
        weight_distribution=spec.weights.describe(),
        half_life_sampling=spec.half_life_min.describe("min"),
        volume_sampling=spec.volume_l_per_kg.describe("L/kg"),
        antibody_positive_percent_requested=spec.antibody_positive_fraction * 100,
        antibody_positive_patients=tally.antibody_positive,
        antibody_volume_factor=spec.antibody_volume_factor,
        antibody_half_life_factor=spec.antibody_half_life_factor,
        cmax_units_per_l=metrics["cmax_units_per_l"],
        auc_units_h_per_l=metrics["auc_units_h_per_l"],
        time_to_90_percent_min=metrics["time_to_90_percent_min"],
        time_to_97_percent_min=metrics["time_to_97_percent_min"],
        dose_units=metrics["dose_units"],
        steady_state_mark_min=spec.steady_state_mark_min,
        share_reaching_90_percent_by_30_min_percent=(
            100.0 * tally.reaching_90_percent_by_mark / tally.patients),
        percentile_method="nearest rank (NumPy's inverted_cdf), read from logarithmic bins",
        percentile_resolution_percent=METRIC_BINS.resolution_percent,
        band=band,
        alerts=by_severity(alerts),
        notes=notes,
        backend=spec.backend,
        backend_device=device,
    )
