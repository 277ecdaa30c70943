"""Benchmark: N commitment letters (different applicants and serials) converted one by one vs. with
``convert_batch`` (several documents per LibreOffice load), through a 2-worker pool with both workers busy
(2 threads, N/2 letters each). ``convert_batch`` two ways: LibreOffice exporting each document's pages
from the one load (``ConverterPool.convert_parts``), and one export cut apart by pikepdf with fonts
re-subset by fontTools (a converter with ``convert`` only).

    .venv/bin/python -m bench.batch_convert_bench [--count 32] [--group 8]

Prints documents per second for each way, the time to convert the merged files whole (one export each,
no cutting: what LibreOffice alone cannot go below), and where the batch's time goes: merging the DOCX,
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
from service.converting import docx_merge, font_subset
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


class _ConvertOnly:
    """The pool seen as a converter without ``convert_parts``: convert_batch cuts the merged PDF with pikepdf."""

    def __init__(self, pool: ConverterPool) -> None:
        self.convert = pool.convert


def _sum(timings: list[BatchTimings]) -> BatchTimings:
    total = BatchTimings()
    for t in timings:
        for name in ("merge", "convert", "split", "alone", "merged_documents", "alone_documents"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--group", type=int, default=8)
    args = parser.parse_args()
    docxs = letters(args.count)
    halves = [docxs[: args.count // 2], docxs[args.count // 2:]]
    merged_groups = [[docx_merge.merge([docx_merge.inspect(d) for d in half[i: i + args.group]])
                      for i in range(0, len(half), args.group)] for half in halves]
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
    old_way = _ConvertOnly(pool)
    try:
        convert_batch(pool, docxs[:4], group=args.group)  # warm every way up
        convert_batch(old_way, docxs[:4], group=args.group)
        [pool.convert(d) for d in docxs[:2]]
        one_by_one = run_threads(lambda half: [pool.convert(d) for d in half], halves)
        parts_timings = [BatchTimings(), BatchTimings()]
        batched = run_threads(lambda half: convert_batch(pool, half, group=args.group, timings=parts_timings[halves.index(half)]),
                              halves)
        merged_only = run_threads(lambda merged: [pool.convert(m) for m in merged], merged_groups)
        cut_timings = [BatchTimings(), BatchTimings()]
        subset_seconds[0] = 0.0
        cut = run_threads(lambda half: convert_batch(old_way, half, group=args.group, timings=cut_timings[halves.index(half)]),
                          halves)
    finally:
        font_subset.subset_font = original
        pool.stop()
    print(f"{args.count} commitment letters, 2 workers, 2 threads, group={args.group}")
    print(f"one by one:                      {args.count / one_by_one:6.1f} docs/s  ({one_by_one:.2f} s)")
    for label, seconds, total in (("convert_batch, LibreOffice cuts:", batched, _sum(parts_timings)),
                                  ("convert_batch, pikepdf cuts:    ", cut, _sum(cut_timings))):
        print(f"{label} {args.count / seconds:6.1f} docs/s  ({seconds:.2f} s; {total.merged_documents} cut from merged "
              f"loads, {total.alone_documents} alone)")
    print(f"merged files converted whole, not cut (a floor): {merged_only:.2f} s")
    print("where the batch's time goes (seconds, summed over both threads): LibreOffice cuts | pikepdf cuts")
    a, b = _sum(parts_timings), _sum(cut_timings)
    print(f"  merge DOCX     {a.merge:6.2f} | {b.merge:6.2f}")
    print(f"  LibreOffice    {a.convert:6.2f} | {b.convert:6.2f}   (a load and an export per part | a load and one export)")
    print(f"  split PDF      {a.split:6.2f} | {b.split:6.2f}   of which font re-subsetting {subset_seconds[0]:.2f}")
    print(f"  alone          {a.alone:6.2f} | {b.alone:6.2f}")


if __name__ == "__main__":
    main()
