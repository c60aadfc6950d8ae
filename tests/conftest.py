from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from ertplan.core.monograph import Monograph, load_monograph, monograph_path

pytest_plugins = ["tests.databases"]


@pytest.fixture(scope="session")
def imiglucerase() -> Monograph:
    """The shipped imiglucerase monograph, validated from its file (no cache)."""
    return load_monograph(monograph_path("imiglucerase"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test's ertplan cache out of the user's cache folder."""
    folder = tmp_path_factory.getbasetemp() / "ertplan-cache"
    monkeypatch.setenv("ERTPLAN_CACHE_DIR", str(folder))
    return folder


# CI machines are small and the first example of a test may import pint: time is not a property
settings.register_profile("ertplan", deadline=None, print_blob=True)
settings.load_profile("ertplan")


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A small in-process Dask cluster on a loopback port: one worker with two threads.

    Module-scoped: the cluster's background threads use the global `random`, which Hypothesis
    reports as a strategy touching it (an error here) in any property test that runs alongside.
    """
    import importlib

    distributed: Any = importlib.import_module("dask.distributed")  # untyped: held as Any
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0", protocol="tcp", host="127.0.0.1",
                      scheduler_port=0) as cluster, distributed.Client(cluster) as client:
        yield client
