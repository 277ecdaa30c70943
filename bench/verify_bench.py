"""Benchmark: verifications per second of a typical signed document (the 告知承诺书), through the
sandboxed verification workers, as the API runs them.

    .venv/bin/python -m bench.verify_bench [--count 200] [--clients 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from service.auth.principal import OPERATOR
from service.config import load_settings
from service.forms import CATALOGUE
from service.forms.jsonschema import sample
from service.issuing import issue
from service.runtime import build_services
from service.verification import verify

from .issue_bench import machine, percentile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="verification worker processes")
    parser.add_argument("--form", default="commitment-letter")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="chengnuo-bench-") as folder:
        settings = load_settings(environ={"CHENGNUO_DATA_DIR": folder}, converter_workers=1, verify_workers=args.workers)
        services = build_services(settings)
        try:
            record = issue(services, args.form, sample(CATALOGUE[args.form]), principal=OPERATOR).document
            pdf = services.files.get(record.pdf_path)
            services.converter.stop()
            services.sandbox.start()
            for _ in range(args.workers * 2):  # warm-up: every worker imports pyHanko once
                assert verify(services, OPERATOR, pdf).verdict == "valid"
            latencies: list[float] = []

            def one(_: int) -> None:
                started = time.perf_counter()
                report = verify(services, OPERATOR, pdf)
                latencies.append(time.perf_counter() - started)
                assert report.verdict == "valid"

            print(f"{args.count} verifications of a {len(pdf) // 1024} KiB {args.form} · {args.clients} clients · {args.workers} workers")
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.clients) as executor:
                list(executor.map(one, range(args.count)))
            elapsed = time.perf_counter() - started
        finally:
            services.close()
    ms = [v * 1000 for v in latencies]
    print(f"{args.count / elapsed:.1f} verifications/s · p50 {percentile(ms, 50):.1f} ms · p95 {percentile(ms, 95):.1f} ms · mean {statistics.mean(ms):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
