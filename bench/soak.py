"""Soak: issue many documents through the pool and watch the memory of the service and its LibreOffice
workers — it should stay flat, because each worker is recycled after CHENGNUO_CONVERTER_MAX_JOBS.

    .venv/bin/python -m bench.soak [--count 2000] [--clients 4] [--workers 2] [--max-jobs 200]

Prints RSS (MiB) of this process and of every LibreOffice process every --every documents, and the
throughput of each stretch; the summary line compares the first and the last stretch.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from service.auth.principal import OPERATOR
from service.config import load_settings
from service.forms import CATALOGUE
from service.forms.jsonschema import sample
from service.issuing import issue
from service.runtime import build_services

from .issue_bench import machine


def rss_mib(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / 1024 / 1024
    except psutil.Error:
        return 0.0


def tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    try:
        return [root] + [child.pid for child in psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-jobs", type=int, default=200)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--form", default="commitment-letter")
    parser.add_argument("--write", action="store_true", help="also write the table into bench/RESULTS.md")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"{args.count} × {args.form} · {args.clients} clients · {args.workers} workers · recycled every {args.max_jobs}")
    data = sample(CATALOGUE[args.form])
    with tempfile.TemporaryDirectory(prefix="chengnuo-soak-") as folder:
        settings = load_settings(environ={"CHENGNUO_DATA_DIR": folder}, converter_workers=args.workers,
                                 converter_max_jobs=args.max_jobs)
        services = build_services(settings)
        services.converter.start()
        rows = []
        try:
            print(f"{'documents':>9} {'docs/s':>7} {'service MiB':>12} {'LibreOffice MiB':>16} {'restarts':>9}")
            done = 0
            while done < args.count:
                batch = min(args.every, args.count - done)
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=args.clients) as pool:
                    list(pool.map(lambda _: issue(services, args.form, data, principal=OPERATOR), range(batch)))
                rate = batch / (time.perf_counter() - started)
                done += batch
                me = os.getpid()
                office = sum(rss_mib(p) for p in tree(me) if p != me)
                row = (done, rate, rss_mib(me), office, services.converter.status()["restarts"])
                rows.append(row)
                print(f"{row[0]:9d} {row[1]:7.2f} {row[2]:12.0f} {row[3]:16.0f} {row[4]:9d}", flush=True)
        finally:
            services.close()
    first, last = rows[0], rows[-1]
    summary = (f"first → last stretch: {first[1]:.2f} → {last[1]:.2f} docs/s; service {first[2]:.0f} → {last[2]:.0f} MiB; "
               f"LibreOffice {first[3]:.0f} → {last[3]:.0f} MiB; peak total {max(r[2] + r[3] for r in rows):.0f} MiB")
    print(summary)
    if args.write:
        table = "\n".join(f"| {r[0]} | {r[1]:.2f} | {r[2]:.0f} | {r[3]:.0f} | {r[4]} |" for r in rows)
        write_section("soak", (
            f"## Memory over {args.count} documents\n\n"
            f"`python -m bench.soak --count {args.count} --clients {args.clients} --workers {args.workers} --max-jobs {args.max_jobs}`, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}.\n\n"
            "| documents | docs/s in the stretch | service RSS, MiB | LibreOffice RSS, MiB | worker restarts |\n|---:|---:|---:|---:|---:|\n"
            f"{table}\n\n{summary}.\n"))
    return 0


def write_section(name: str, body: str) -> None:
    """Replaces this benchmark's part of bench/RESULTS.md (between its markers), keeping the others."""
    path = Path(__file__).with_name("RESULTS.md")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body}{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
