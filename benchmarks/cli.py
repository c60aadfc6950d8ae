"""Cold start of ``ertplan prepare --json`` as a ratio to a bare ``python -c pass``.

Both run as fresh processes of the same interpreter, interleaved, so machine load hits them alike;
the figure reported is median(prepare) / median(bare). The cache is warmed first (a first run after
installing or changing a data file validates the monograph once and pays for pint). Measure a
regular (non-editable) install, as users have: an editable one adds its import hooks to every
start of both commands, which the script reports. The machine's load average is printed too.

    python benchmarks/cli.py [--runs 31]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PREPARE = ["prepare", "--weight", "70kg", "--dose", "60U/kg", "--every", "2w", "--json"]
ISSUE_LIMIT = 5.0  # ertplan issue 18: at most 5x a bare interpreter start (issue 3: 10x)


def wall_seconds(command: list[str], environment: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=environment)
    return time.perf_counter() - start


def install_kind() -> str:
    """How ertplan is installed beside this interpreter: "editable" or "regular"."""
    from importlib.metadata import distribution

    direct_url = distribution("ertplan").read_text("direct_url.json") or "{}"
    editable = json.loads(direct_url).get("dir_info", {}).get("editable", False)
    return "editable" if editable else "regular"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="runs of each command (default 31)")
    arguments = parser.parse_args()

    executable = shutil.which("ertplan", path=os.path.dirname(sys.executable)) or "ertplan"
    bare = [sys.executable, "-c", "pass"]
    prepare = [executable, *PREPARE]
    with tempfile.TemporaryDirectory() as cache:
        # the user's cache folder as platformdirs finds it, only moved to a scratch place
        environment = {key: value for key, value in os.environ.items()
                       if key != "ERTPLAN_CACHE_DIR"} | {"XDG_CACHE_HOME": cache}
        cold_first = wall_seconds(prepare, environment)  # fills the cache
        bare_times, prepare_times = [], []
        for _ in range(arguments.runs):
            bare_times.append(wall_seconds(bare, environment))
            prepare_times.append(wall_seconds(prepare, environment))
    bare_median = statistics.median(bare_times)
    prepare_median = statistics.median(prepare_times)
    ratio = prepare_median / bare_median
    print(f"python -c pass          median {bare_median * 1000:7.1f} ms  (baseline, 1.0x)")
    print(f"ertplan prepare --json  median {prepare_median * 1000:7.1f} ms  ({ratio:.1f}x)")
    print(f"first run, empty cache         {cold_first * 1000:7.1f} ms  "
          f"({cold_first / bare_median:.1f}x)")
    verdict = "within" if ratio <= ISSUE_LIMIT else "OVER"
    print(f"ratio {ratio:.1f}x: {verdict} the {ISSUE_LIMIT:g}x budget")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"({install_kind()} install; load average {load} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
