"""``POST /plans/preparation`` against a static JSON endpoint of the same server.

One uvicorn server on loopback serves ertplan's application with one extra route,
``POST /bench/constant``, which takes the same JSON body (so FastAPI parses and validates it)
and returns a constant object. The baseline is ``GET /cds-services``, the CDS Hooks discovery
document: static JSON through the framework. Requests to the three go interleaved in batches
over one keep-alive connection per client thread, so load hits them alike. Reported: requests/s,
p50 and p99 latency of each; the goal (ertplan issue 18) is the plan's requests/s at least 0.83
of the static endpoint's (planning adds at most 20 %); issue 7's figure, the planner's cost over
the constant POST, (p50 plan - p50 constant) / p50 constant, is printed too.

    python benchmarks/api.py [--requests 2000] [--clients 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BODY = json.dumps({"weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks",
                   "prepared_at": "2026-12-07T08:30:00+00:00"}).encode()
# name -> (method, path): the static baseline, the framework with a validated body, the plan
PATHS = {"static": ("GET", "/cds-services"), "constant": ("POST", "/bench/constant"),
         "plan": ("POST", "/plans/preparation")}
BATCH = 50
AIM = 0.20  # issue 7: the planner under 20 % of the framework's own overhead
GOAL = 0.83  # issue 18: the plan's requests/s at least 0.83 of the static endpoint's

SERVER = """
import sys
import uvicorn
from ertplan.app import create_app
from ertplan.service.schemas import PreparationRequest
from ertplan.store.db import open_database

app = create_app(engine=open_database(sys.argv[1]))

@app.post("/bench/constant")
def constant(body: PreparationRequest) -> dict[str, str]:
    return {"status": "ok"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            access_log=False)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the benchmark server stopped while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the benchmark server did not start in 60 s")


def call(connection: http.client.HTTPConnection, method: str, path: str) -> float:
    start = time.perf_counter()
    if method == "GET":
        connection.request("GET", path)
    else:
        connection.request("POST", path, body=BODY,
                           headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}")
    return elapsed


def client(port: int, requests: int, latencies: dict[str, list[float]],
           lock: threading.Lock) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine: dict[str, list[float]] = {name: [] for name in PATHS}
    for method, path in PATHS.values():  # warm-up: imports, monograph, unit memo
        for _ in range(BATCH):
            call(connection, method, path)
    for round_start in range(0, requests, BATCH):
        for name, (method, path) in PATHS.items():
            mine[name] += [call(connection, method, path)
                           for _ in range(min(BATCH, requests - round_start))]
    connection.close()
    with lock:
        for name in PATHS:
            latencies[name] += mine[name]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests to each endpoint per client (default 2000)")
    parser.add_argument("--clients", type=int, default=1,
                        help="concurrent keep-alive clients (default 1)")
    arguments = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+pysqlite:///{os.path.join(folder, 'bench.sqlite3')}"
        server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port)])
        try:
            wait_until_up(port, server)
            latencies: dict[str, list[float]] = {name: [] for name in PATHS}
            lock = threading.Lock()
            threads = [threading.Thread(target=client, args=(port, arguments.requests,
                                                             latencies, lock))
                       for _ in range(arguments.clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

    # time per request as the clients saw it; requests/s from the time each endpoint occupied
    rate = {name: arguments.clients * len(values) / sum(values)
            for name, values in latencies.items()}
    p50 = {name: statistics.median(values) for name, values in latencies.items()}
    p99 = {name: percentile(values, 0.99) for name, values in latencies.items()}
    print(f"{arguments.clients} client(s), {arguments.requests} requests each per endpoint, "
          f"loopback, {wall:.1f} s")
    for name, label in (("static", "GET /cds-services (base)"),
                        ("constant", "POST constant, same body"),
                        ("plan", "POST /plans/preparation")):
        print(f"{label:26} {rate[name]:8.0f} req/s  p50 {p50[name] * 1000:6.2f} ms  "
              f"p99 {p99[name] * 1000:6.2f} ms")
    ratio = rate["plan"] / rate["static"]
    verdict = "meets" if ratio >= GOAL else "MISSES"
    print(f"plan/static: req/s {ratio:.2f} ({verdict} the goal of at least {GOAL}), "
          f"p50 {p50['plan'] / p50['static']:.2f}x, p99 {p99['plan'] / p99['static']:.2f}x")
    cost = (p50["plan"] - p50["constant"]) / p50["constant"]
    verdict = "within" if cost <= AIM else "OVER"
    print(f"planner cost {cost:.0%} of the constant POST: {verdict} issue 7's {AIM:.0%} aim")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"(load average {load} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
