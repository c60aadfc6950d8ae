"""Where a virtual population's chunks run (``ertplan pk population``): on threads of this process,
every core by default, or on a Dask cluster (``--dask ADDRESS``).

The chunks are the same pure function everywhere (``ertplan.core.population.simulate_chunk``) and
return integer tallies, so every runner's summary equals the one-by-one local run for the same
seed. At most a few chunks per thread are in flight at a time, so neither the workers nor this
process hold more than a few tallies. On a cluster, every worker needs ertplan installed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from ertplan.core.errors import InputError
from ertplan.core.population import (
    ChunkMapper,
    PopulationSpec,
    Tally,
    run_locally,
    simulate_chunk,
)

CHUNKS_IN_FLIGHT_PER_THREAD = 2
CONNECT_TIMEOUT_S = 10
# patients per chunk on a cluster unless told: 40 chunks for 10 M patients, each handing back one
# tally of ~40 MB of counts over the network
DASK_CHUNK_PATIENTS = 1 << 18


def thread_runner(threads: int) -> ChunkMapper:
    """A chunk runner on `threads` threads of this process.

    Threads rather than processes: the walk through the time grid (the compiled kernel) and
    NumPy's array work release the GIL, so the threads run on separate cores with no worker
    start-up, no pickling and one copy of the spec. With one thread it is the local run.
    """
    if isinstance(threads, bool) or threads < 1:
        raise InputError("workers", "must be a whole number of threads above zero", threads)

    def run(spec: PopulationSpec, bounds: Sequence[tuple[int, int]]) -> Iterator[Tally]:
        if threads == 1:
            yield from run_locally(spec, bounds)
            return
        waiting = iter(bounds)
        with ThreadPoolExecutor(threads, thread_name_prefix="ertplan-population") as pool:
            running: set[Future[Tally]] = set()

            def submit_next() -> None:
                chunk = next(waiting, None)
                if chunk is not None:
                    running.add(pool.submit(simulate_chunk, spec, *chunk))

            for _ in range(threads * CHUNKS_IN_FLIGHT_PER_THREAD):
                submit_next()
            try:
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        running.remove(future)
                        submit_next()
                        yield future.result()
            finally:
                for future in running:  # stopped early (an error, Ctrl-C): start no more
                    future.cancel()

    return run


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
