"""The population's inner loop, compiled by Numba: walk patients through the time grid and count
each activity in its band bin as it is made, never storing a curve.

It computes exactly what ``ertplan.core.population.count_band_numpy`` (the reference) computes: the
same multiply and add per time in the same order (no fused multiply-add: Numba leaves IEEE
arithmetic alone unless asked for fast-math), and the same bin from the float's bits. The tests
hold the two equal count for count. Without Numba (:func:`compiled_band_counter` returns None)
the population runs on the reference.

Why compiled: NumPy makes each time's activities, then their bins, then their counts, each pass
through memory; here one patient's value stays in a register from its multiply-add to its count,
and patients go in blocks small enough that their factors stay in the processor's cache.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

# patients walked together through the grid: their activities and step factors stay in cache
# (2048 x 8 B x 3 arrays = 48 KiB), and each time's counts get many increments per visit
PATIENTS_AT_ONCE = 2048

BandCounter = Callable[[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                        NDArray[np.int32] | NDArray[np.int64], int, int], None]


def count_band(decay: NDArray[np.float64], gain: NDArray[np.float64],
               kind_of_time: NDArray[np.int64], counts: NDArray[np.int32] | NDArray[np.int64],
               shift: int, offset: int) -> None:
    """Add each patient's activity at each time to `counts` (times x bins), in place.

    Patient p's activity starts at 0 and at time i becomes ``activity * decay[k, p] + gain[k, p]``
    with k = kind_of_time[i]; its bin is ``(bits >> shift) - offset`` clipped to the row (the
    float's exponent and top mantissa bits, as ``LogBins.index``). Counts of 32 bits (a chunk's,
    under 2**31 patients) keep twice as many bins in cache as 64.
    """
    patients = decay.shape[1]
    last_bin = counts.shape[1] - 1
    activity = np.empty(PATIENTS_AT_ONCE)
    bits = activity.view(np.int64)
    index = np.empty(PATIENTS_AT_ONCE, dtype=np.int64)
    for first in range(0, patients, PATIENTS_AT_ONCE):
        count = min(PATIENTS_AT_ONCE, patients - first)
        activity[:count] = 0.0
        for time in range(kind_of_time.size):
            kind = kind_of_time[time]
            # three passes over the block: the first two vectorise, the third is the counting
            for p in range(count):
                activity[p] = activity[p] * decay[kind, first + p] + gain[kind, first + p]
            for p in range(count):
                index[p] = min(max((bits[p] >> shift) - offset, 0), last_bin)
            row = counts[time]
            for p in range(count):
                row[index[p]] += 1


@functools.cache
def compiled_band_counter() -> BandCounter | None:
    """:func:`count_band` compiled by Numba (cached on disk after the first run), or None where
    Numba is not installed or cannot load (the caller then counts with NumPy)."""
    try:
        numba = importlib.import_module("numba")
    except ImportError:
        return None
    compiled: BandCounter = numba.njit(nogil=True, cache=True)(count_band)
    return compiled
