"""Bulk issuing against Carbone CE, in one run on one machine, and what a running batch does to the windows.

    .venv/bin/python -m bench.batch_bench [--count 120] [--workers 2] [--batch-threads 3] [--no-write]

1. Carbone CE 3.8 renders + converts ``--count`` commitment letters (4 in flight, ``--workers`` LibreOffice
   factories): its single-document throughput (``bench/carbone_bench.py``'s Carbone side).
2. Our service (``python -m service serve`` with ``--workers`` LibreOffice workers and ``--batch-threads`` batch
   threads) gets one ``POST /api/v1/batches`` of ``--count`` letters; the clock runs from the POST to the batch's
   ``finished_at``. Every row is validated, numbered, rendered, converted, signed with a timestamp and stored.
3. Window priority: one clerk issuing letters one after another, first alone, then while a batch runs. The issue's
   target: the p50 rises by at most 50%.

Results go to ``bench/RESULTS.md`` between ``<!-- batch-bench:start -->`` and ``<!-- batch-bench:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from .carbone_bench import (
    LETTER,
    LETTER_SAMPLE,
    CarboneSide,
    Deadline,
    OurSide,
    _on_signal,
    build_carbone_template,
    carbone_data,
    ensure_carbone,
    machine_info,
    percentile,
    platform_node_version,
    write_results,
)

MARKS = ("<!-- batch-bench:start -->", "<!-- batch-bench:end -->")


def letters(count: int) -> list[dict[str, Any]]:
    sample = json.loads(LETTER_SAMPLE.read_text(encoding="utf-8"))
    rows = []
    for index in range(count):
        row = json.loads(json.dumps(sample))
        row["applicant"]["name"] = f"申请人{index + 1:04d}"
        rows.append(row)
    return rows


def run_batch(ours: OurSide, count: int, deadline: Deadline) -> dict[str, Any]:
    """POSTs one batch and waits for it; returns its final progress and the wall time from POST to finished."""
    headers = {"Authorization": f"Bearer {ours.key}", "Content-Type": "application/json"}
    body = json.dumps({"form": LETTER, "rows": letters(count)}, ensure_ascii=False).encode()
    started = time.perf_counter()
    status, answer = ours._request("POST", "/api/v1/batches", body=body, headers=headers)
    if status != 202:
        raise RuntimeError(f"POST /api/v1/batches: HTTP {status}: {answer[:300]!r}")
    batch_id = json.loads(answer)["id"]
    while True:
        status, answer = ours._request("GET", f"/api/v1/batches/{batch_id}", headers=headers)
        state = json.loads(answer)
        if state["status"] == "finished":
            state["wall_s"] = time.perf_counter() - started
            return state
        if deadline.left() <= 0:
            raise RuntimeError(f"the batch did not finish in time: {state}")
        time.sleep(0.1)


def window_latencies(ours: OurSide, count: int) -> list[float]:
    payload = [(LETTER, json.dumps({"form": LETTER, "data": letters(1)[0]}, ensure_ascii=False).encode())]
    return ours.run("window", payload, count, 1).latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=120, help="letters: Carbone's round and our batch")
    parser.add_argument("--workers", type=int, default=2, help="LibreOffice processes, each side")
    parser.add_argument("--batch-threads", type=int, default=3, help="batch threads of our service (CHENGNUO_BATCH_WORKERS)")
    parser.add_argument("--window", type=int, default=20, help="letters the clerk issues, alone and during a batch")
    parser.add_argument("--timeout", type=float, default=1500)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    deadline = Deadline(args.timeout)
    tmp = Path(tempfile.mkdtemp(prefix="chengnuo-batch-bench-"))
    taken = dt.datetime.now(dt.UTC)
    carbone = ours = None
    try:
        version = ensure_carbone(deadline)
        build_carbone_template()
        machine = machine_info(version, platform_node_version())
        sample = json.loads(LETTER_SAMPLE.read_text(encoding="utf-8"))
        carbone = CarboneSide(args.workers, tmp, carbone_data(sample), deadline)
        carbone.start()
        ours = OurSide(args.workers, 4, tmp, deadline)
        ours.env["CHENGNUO_BATCH_WORKERS"] = str(args.batch_threads)
        ours.start()
        print(f"Carbone {carbone.version} and chengnuo ready; warm-up", flush=True)
        carbone.run("warm-up", 8, 4)
        run_batch(ours, 8, deadline)
        window_latencies(ours, 4)

        theirs = carbone.run("letters", args.count, 4)
        print(f"  Carbone: {len(theirs.latencies)} letters in {theirs.elapsed:.1f} s = {theirs.rate:.2f}/s", flush=True)
        batch = run_batch(ours, args.count, deadline)
        our_rate = batch["done"] / batch["wall_s"]
        print(f"  chengnuo batch: {batch['done']} letters ({batch['failed']} failed) in {batch['wall_s']:.1f} s = {our_rate:.2f}/s",
              flush=True)

        alone = window_latencies(ours, args.window)
        headers = {"Authorization": f"Bearer {ours.key}", "Content-Type": "application/json"}
        body = json.dumps({"form": LETTER, "rows": letters(max(args.count, 4 * args.window))}, ensure_ascii=False).encode()
        _, answer = ours._request("POST", "/api/v1/batches", body=body, headers=headers)
        batch_id = json.loads(answer)["id"]
        time.sleep(2)  # the batch is under way
        during = window_latencies(ours, args.window)
        _, answer = ours._request("GET", f"/api/v1/batches/{batch_id}", headers=headers)
        still_running = json.loads(answer)["status"] == "running"
        p50_alone, p50_during = percentile(alone, 50), percentile(during, 50)
        print(f"  window p50: {p50_alone:.0f} ms alone, {p50_during:.0f} ms during a batch "
              f"({p50_during / p50_alone:.2f}×; batch still running at the end: {still_running})", flush=True)

        section = f"""## Bulk issuing against Carbone CE

Taken {taken:%Y-%m-%d %H:%M} UTC with `python -m bench.batch_bench --count {args.count} --workers {args.workers} --batch-threads {args.batch_threads}`.

Carbone CE {carbone.version} renders and converts {args.count} commitment letters (4 in flight, {args.workers} LibreOffice factories: no
signature, no number, no storage). Our service gets them as one `POST /api/v1/batches` and issues each row as a window
would: validated, numbered, rendered, converted, PAdES-signed with an RFC 3161 timestamp, stored and registered, by
{args.batch_threads} batch thread(s) sharing {args.workers} LibreOffice workers; the clock runs from the POST to the batch's end.

| {args.count} commitment letters | documents/s |
|---|---:|
| Carbone CE, single-document render + convert | {theirs.rate:.2f} |
| chengnuo, one batch (signed and registered) | {our_rate:.2f} |
| **batch / Carbone** | **{our_rate / theirs.rate:.2f}×** (goal ≥ 2×) |

Window priority: a clerk issuing {args.window} letters one after another, alone and then while a batch of
{max(args.count, 4 * args.window)} rows runs (batch conversions yield to window requests in the converter pool):
p50 **{p50_alone:.0f} ms** alone, **{p50_during:.0f} ms** during the batch (**{p50_during / p50_alone:.2f}×**; target ≤ 1.5×), p95
{percentile(alone, 95):.0f} → {percentile(during, 95):.0f} ms. The batch was {"still running" if still_running else "finished"} when the clerk's last letter came back.

Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}; {machine['libreoffice']}.
"""
        if not args.no_write:
            write_results(section, marks=MARKS)
            print("written to bench/RESULTS.md")
        else:
            print(section)
        return 0
    finally:
        for side in (ours, carbone):
            if side is not None:
                side.stop()


if __name__ == "__main__":
    raise SystemExit(main())
