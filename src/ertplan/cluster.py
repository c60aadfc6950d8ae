"""Run a virtual population's chunks on a Dask cluster (``ertplan pk population --dask ADDRESS``).

The chunks are the same pure function the local run calls (``ertplan.core.population
.simulate_chunk``) and return integer tallies, so a cluster's summary equals the local one for the
same seed. Every worker needs ertplan installed. At most a few chunks per worker thread are in
flight at a time, so neither the workers nor this process hold more than a few tallies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ertplan.core.errors import InputError
from ertplan.core.population import ChunkMapper, PopulationSpec, Tally, simulate_chunk

CHUNKS_IN_FLIGHT_PER_THREAD = 2
CONNECT_TIMEOUT_S = 10


def dask_runner(scheduler: str | Any) -> ChunkMapper:
    """A chunk runner for :func:`ertplan.core.population.simulate_population` on Dask.

    `scheduler` is a scheduler address (``tcp://host:8786``), or a ``dask.distributed.Client``
    that the caller owns (and closes).
    """

    def run(spec: PopulationSpec, bounds: Sequence[tuple[int, int]]) -> Iterator[Tally]:
        import importlib

        # dask.distributed's functions are untyped: hold the module as Any
        distributed: Any = importlib.import_module("dask.distributed")
        owned = isinstance(scheduler, str)
        client: Any
        if owned:
            try:
                client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as error:
                raise InputError("dask", f"cannot reach a Dask scheduler there ({error})",
                                 scheduler) from None
        else:
            client = scheduler
        try:
            threads = max(1, sum(client.nthreads().values()))
            window = threads * CHUNKS_IN_FLIGHT_PER_THREAD
            [shared_spec] = client.scatter([spec], broadcast=True)
            waiting = list(bounds)
            running = distributed.as_completed()
            for _ in range(min(window, len(waiting))):
                start, stop = waiting.pop(0)
                running.add(client.submit(simulate_chunk, shared_spec, start, stop, pure=False))
            for future in running:
                tally: Tally = future.result()
                future.release()
                if waiting:
                    start, stop = waiting.pop(0)
                    running.add(client.submit(simulate_chunk, shared_spec, start, stop,
                                              pure=False))
                yield tally
        finally:
            if owned:
                client.close()

    return run
