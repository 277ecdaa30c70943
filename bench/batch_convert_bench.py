"""Benchmark: N commitment letters (different applicants and serials) converted one by one vs. with
``convert_batch`` (several documents per LibreOffice load, the PDF cut apart, fonts re-subset), through
a 2-worker pool with both workers busy (2 threads, N/2 letters each).

    .venv/bin/python -m bench.batch_convert_bench [--count 32] [--group 8]

Prints documents per second for each way, and where the batch's time goes: merging the DOCX,
LibreOffice, cutting the PDF apart (font re-subsetting shown on its own), documents converted alone.
Figures only: no pass/fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import threading
import time

from service.agencies import load_agencies
from service.config import load_settings
from service.converting import font_subset
from service.converting.batch import BatchTimings, convert_batch
from service.converting.pool import ConverterPool
from service.forms import CATALOGUE
from service.forms.jsonschema import sample
from service.rendering.context import template_context
from service.rendering.docx_render import DocxRenderer
from service.rendering.qr import qr_png
from service.runtime import pool_settings, template_labels

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "秀兰建国志强丽娟海燕文斌春梅玉珍德明桂英淑芬永红晓东"


def letters(count: int) -> list[bytes]:
    settings = load_settings(environ={})
    spec = CATALOGUE["commitment-letter"]
    agency = load_agencies(settings.agencies_file).default
    renderer = DocxRenderer(settings.templates_dir, labels=template_labels())
    docxs = []
    for i in range(count):
        raw = sample(spec)
        raw["applicant"]["name"] = SURNAMES[i % len(SURNAMES)] + GIVEN[(2 * i) % len(GIVEN)] + GIVEN[(3 * i + 1) % len(GIVEN)]
        serial = f"2026-{i + 1:08d}-BNCH"
        url = f"http://127.0.0.1:8000/v/{serial}"
        context = template_context(spec, spec.schema().load(raw), agency=agency, number=f"晋市司函字〔2026〕{i + 1}号",
                                   serial=serial, verify_url=url, issued_on=dt.date(2026, 3, 16))
        docxs.append(renderer.render(spec.template, context, qr_png(url)))
    return docxs


def run_threads(work, halves) -> float:
    threads = [threading.Thread(target=work, args=(half,)) for half in halves]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--group", type=int, default=8)
    args = parser.parse_args()
    docxs = letters(args.count)
    halves = [docxs[: args.count // 2], docxs[args.count // 2:]]
    pool = ConverterPool(pool_settings(load_settings(environ={}, converter_workers=2)))
    pool.start()
    subset_seconds = [0.0]
    original = font_subset.subset_font

    def timed_subset(*a, **k):
        started = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            subset_seconds[0] += time.perf_counter() - started  # summed over both threads

    font_subset.subset_font = timed_subset
    try:
        convert_batch(pool, docxs[:4], group=args.group)  # warm both ways up
        [pool.convert(d) for d in docxs[:2]]
        one_by_one = run_threads(lambda half: [pool.convert(d) for d in half], halves)
        timings = [BatchTimings(), BatchTimings()]
        subset_seconds[0] = 0.0
        batched = run_threads(lambda half: convert_batch(pool, half, group=args.group, timings=timings[halves.index(half)]), halves)
    finally:
        font_subset.subset_font = original
        pool.stop()
    total = BatchTimings()
    for t in timings:
        for name in ("merge", "convert", "split", "alone", "merged_documents", "alone_documents"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
    print(f"{args.count} commitment letters, 2 workers, 2 threads, group={args.group}")
    print(f"one by one:    {args.count / one_by_one:6.1f} docs/s  ({one_by_one:.2f} s)")
    print(f"convert_batch: {args.count / batched:6.1f} docs/s  ({batched:.2f} s; {total.merged_documents} cut from merged loads, "
          f"{total.alone_documents} alone)")
    print("where the batch's time goes (seconds, summed over both threads):")
    print(f"  merge DOCX     {total.merge:6.2f}")
    print(f"  LibreOffice    {total.convert:6.2f}")
    print(f"  split PDF      {total.split:6.2f}   of which font re-subsetting {subset_seconds[0]:.2f}")
    print(f"  alone          {total.alone:6.2f}")


if __name__ == "__main__":
    main()
