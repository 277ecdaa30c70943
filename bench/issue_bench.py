"""Benchmark: issue documents of every form through a warm LibreOffice pool; print throughput and the
p50/p95 latency of each stage (validate, number, render, convert, store), so we see where time goes.

    .venv/bin/python -m bench.issue_bench [--count 120] [--clients 4] [--workers 2] [--forms a,b]
    .venv/bin/python -m bench.issue_bench --url http://127.0.0.1:8000   # against a running service (end to end)

In-process mode uses a throw-away data folder; nothing is left behind. Figures only: no pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from service.auth.principal import OPERATOR
from service.config import load_settings
from service.forms import CATALOGUE
from service.forms.jsonschema import sample
from service.issuing import STAGES, issue
from service.runtime import build_services


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()} · {os.cpu_count()} cores · {cpu} · Python {platform.python_version()}"


def run_in_process(forms: list[str], count: int, clients: int, workers: int) -> tuple[float, list[dict[str, float]]]:
    with tempfile.TemporaryDirectory(prefix="chengnuo-bench-") as folder:
        settings = load_settings(environ={"CHENGNUO_DATA_DIR": folder}, converter_workers=workers)
        services = build_services(settings)
        try:
            print(f"starting {workers} LibreOffice worker(s)…", flush=True)
            services.converter.start()
            for form_id in forms:  # warm-up: first render of each template, first conversion per worker
                issue(services, form_id, sample(CATALOGUE[form_id]), principal=OPERATOR)
            results: list[dict[str, float]] = []
            lock = threading.Lock()
            done = 0

            def one(i: int) -> None:
                nonlocal done
                form_id = forms[i % len(forms)]
                started = time.perf_counter()
                result = issue(services, form_id, sample(CATALOGUE[form_id]), principal=OPERATOR)
                timings = dict(result.timings, total=time.perf_counter() - started, form=form_id)
                with lock:
                    results.append(timings)
                    done += 1
                    if done % max(1, count // 10) == 0:
                        print(f"  {done}/{count}", flush=True)

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as executor:
                list(executor.map(one, range(count)))
            return time.perf_counter() - started, results
        finally:
            services.close()


def run_over_http(url: str, forms: list[str], count: int, clients: int) -> tuple[float, list[dict[str, float]]]:
    payloads = {f: json.dumps({"form": f, "data": sample(CATALOGUE[f])}).encode() for f in forms}
    results: list[dict[str, float]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        form_id = forms[i % len(forms)]
        request = urllib.request.Request(f"{url}/api/v1/documents", data=payloads[form_id], headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
        with lock:
            results.append({"total": time.perf_counter() - started, "form": form_id})

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as executor:
        list(executor.map(one, range(count)))
    return time.perf_counter() - started, results


def report(elapsed: float, results: list[dict], stages: tuple[str, ...]) -> None:
    print()
    print(f"{len(results)} documents in {elapsed:.2f} s: {len(results) / elapsed:.2f} documents/s")
    print()
    print(f"{'stage':10} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9} {'share':>7}")
    total_mean = statistics.mean(r["total"] for r in results)
    for stage in (*stages, "total"):
        values = [r[stage] * 1000 for r in results if stage in r]
        if not values:
            continue
        share = statistics.mean(values) / (total_mean * 1000)
        print(f"{stage:10} {percentile(values, 50):9.1f} {percentile(values, 95):9.1f} {statistics.mean(values):9.1f} {share:7.0%}")
    print()
    by_form: dict[str, list[float]] = defaultdict(list)
    for r in results:
        by_form[r["form"]].append(r["total"] * 1000)
    print(f"{'form':34} {'n':>4} {'p50 ms':>9} {'p95 ms':>9}")
    for form_id, values in by_form.items():
        print(f"{form_id:34} {len(values):4d} {percentile(values, 50):9.1f} {percentile(values, 95):9.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="LibreOffice processes (in-process mode)")
    parser.add_argument("--forms", default=",".join(CATALOGUE), help="comma-separated form ids")
    parser.add_argument("--url", help="benchmark a running service over HTTP instead")
    args = parser.parse_args(argv)
    forms = [f for f in args.forms.split(",") if f]
    unknown = [f for f in forms if f not in CATALOGUE]
    if unknown:
        parser.error(f"unknown forms: {', '.join(unknown)}")
    print(f"machine: {machine()}")
    if args.url:
        print(f"target: {args.url} · {args.count} documents · {args.clients} clients")
        elapsed, results = run_over_http(args.url.rstrip("/"), forms, args.count, args.clients)
        report(elapsed, results, ())
    else:
        print(f"in-process · {args.count} documents · {args.clients} clients · {args.workers} LibreOffice workers")
        elapsed, results = run_in_process(forms, args.count, args.clients, args.workers)
        report(elapsed, results, STAGES)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
