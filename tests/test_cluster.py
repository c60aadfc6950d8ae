"""Where a population's chunks run changes nothing: threads here, or a Dask cluster of several
worker processes (the protocol a multi-node cluster speaks, on loopback)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from ertplan.cluster import dask_runner
from ertplan.core.monograph import Monograph
from ertplan.core.population import PopulationRequest, WeightDistribution, simulate_population

REQUEST = PopulationRequest(n_patients=30_000, seed=11, dose_units_per_kg=60,
                            weights=WeightDistribution("normal", 70, 15, 0.5, 350),
                            duration_min=90, antibody_positive_percent=25.0)


@pytest.fixture(scope="module")
def process_cluster() -> Iterator[Any]:
    """A LocalCluster of two worker processes (one thread each), each importing ertplan itself."""
    distributed: Any = importlib.import_module("dask.distributed")  # untyped: held as Any
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", protocol="tcp", host="127.0.0.1",
                                  scheduler_port=0) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_a_cluster_of_worker_processes_gives_the_local_result(
        imiglucerase: Monograph, process_cluster: Any) -> None:
    local = simulate_population(REQUEST, imiglucerase)
    on_cluster = simulate_population(REQUEST, imiglucerase, chunk_patients=7_000,
                                     run_chunks=dask_runner(process_cluster))
    assert on_cluster == local
    # each worker is its own process: its own interpreter, its own compiled kernel
    worker_pids = process_cluster.run(os.getpid)
    assert len(worker_pids) == 2
    assert len(set(worker_pids.values()) | {os.getpid()}) == 3


def test_an_address_with_no_scheduler_is_refused_naming_the_option(
        imiglucerase: Monograph) -> None:
    from ertplan.core.errors import InputError

    with pytest.raises(InputError) as refused:
        simulate_population(REQUEST, imiglucerase,
                            run_chunks=dask_runner("tcp://127.0.0.1:1"))
    assert refused.value.field == "dask"
