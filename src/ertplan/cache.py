"""Keep what is slow to recompute between runs of the CLI: validated monographs and unit facts.

A cold ``ertplan prepare`` must start in a few Python start-up times, and validating a monograph
(pydantic) or asking pint about a unit costs several times that. Both results depend only on files
whose content is hashed into the cache key, so a changed data file or a new ertplan is never served
stale. The cache is only an accelerator: if its folder cannot be written, everything still works.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import zlib
from pathlib import Path
from typing import Any

import ertplan
from ertplan.core import monograph as monograph_module
from ertplan.core import units
from ertplan.core.errors import InputError
from ertplan.core.monograph import (
    Monograph,
    available_drugs,
    monograph_path,
    validate_monograph,
)

CACHE_DIR_VARIABLE = "ERTPLAN_CACHE_DIR"


def cache_dir() -> Path:
    """The cache folder: ``$ERTPLAN_CACHE_DIR``, else the user's cache folder for ertplan."""
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    if configured:
        return Path(configured)
    if sys.platform == "linux":
        # platformdirs' answer by the XDG rule it applies, without importing it (with tempfile and
        # shutil, it costs a tenth of a cold `ertplan prepare`); anything unusual goes to it
        xdg_cache = os.environ.get("XDG_CACHE_HOME", "")
        if os.path.isabs(xdg_cache):
            return Path(xdg_cache) / "ertplan"
        home = os.environ.get("HOME", "")
        if os.path.isabs(home):
            return Path(home) / ".cache" / "ertplan"
    from platformdirs import user_cache_path

    return user_cache_path("ertplan", appauthor=False)


def cached_monograph(drug: str, folder: Path | None = None) -> Monograph:
    """The validated monograph of `drug`, from the cache when its data file is unchanged."""
    path = monograph_path(drug)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        known = ", ".join(available_drugs())
        raise InputError("drug", f"no monograph of that name (known: {known})", drug) from None
    schema = Path(monograph_module.__file__).read_bytes()
    key = _digest(raw, schema, ertplan.__version__.encode())
    cached = (folder or cache_dir()) / f"monograph-{drug}-{key}.pickle"
    try:
        with cached.open("rb") as handle:
            loaded = pickle.load(handle)
        if isinstance(loaded, Monograph):
            return loaded
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    import tomllib

    monograph = validate_monograph(tomllib.loads(raw.decode("utf-8")), path.name)
    _write_atomically(cached, pickle.dumps(monograph, protocol=pickle.HIGHEST_PROTOCOL))
    return monograph


class UnitMemo(dict[str, units.UnitFact]):
    """What pint said about each unit spelling, persisted as JSON; keyed by the definitions file."""

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__()
        key = _digest(units.definitions_text().encode(), ertplan.__version__.encode())
        self.path = (folder or cache_dir()) / f"units-{key}.json"
        self.loaded = 0
        try:
            stored: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            self.update({spelling: (str(fact[0]), float(fact[1]))
                         for spelling, fact in stored.items()})
            self.loaded = len(self)
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            pass

    def save(self) -> None:
        """Write the table back if pint was asked anything new."""
        if len(self) != self.loaded:
            _write_atomically(self.path, json.dumps(dict(self), sort_keys=True).encode())
            self.loaded = len(self)


def _digest(*parts: bytes) -> str:
    # a change detector, not a security measure; zlib spares the start-up cost of hashlib
    return "-".join(f"{zlib.crc32(part):08x}{len(part):x}" for part in parts)


def _write_atomically(path: Path, content: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_bytes(content)
        os.replace(partial, path)
    except OSError:
        pass  # a cache that cannot be written only makes the next run slower
