"""python -m service batch …: bulk issuing, as the operator (every agency and form).

    batch submit FILE --form F [--agency A] [--key K] [--no-wait]   a CSV/XLSX (or a JSON list of rows); waits with a
                                                                   progress bar, then prints the batch
    batch status ID                                                the batch's progress, each failed row's errors
    batch resume ID [--no-wait]                                    queue its pending rows again
    batch archive ID --out F.zip                                   the ZIP of its PDFs and manifest.csv
    batch template FORM --format csv|xlsx --out F                  the form's spreadsheet template
    worker                                                         only the batch workers (with CHENGNUO_REDIS_URL)

Without Redis the queue is this process's own: ``submit`` and ``resume`` issue the rows right here (a row left when
the command is stopped is issued by the next ``resume``, or by ``serve`` at its start). With Redis the rows go to the
workers of every node, and the command only watches. Exit 0 all rows issued, 1 some failed, 2 invalid input.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..auth.principal import OPERATOR
from ..batches import archive, columns, progress, submit
from ..batches.work import start_workers
from ..errors import ConfigurationError, InvalidData
from ..forms import get_form
from ..spreadsheets import kind_of
from .common import EXIT_FAILED, EXIT_OK, operator_services, print_json, progress_bar

BATCH_CONVERTERS = 2  # LibreOffice workers for a batch run from the command line
BATCH_THREADS = 3  # rows issued at once from the command line: one more than the converters, to keep them busy


def _summary(p: progress.Progress) -> dict[str, Any]:
    return {"id": p.batch.id, "form": p.batch.form, "agency": p.batch.agency, "status": p.batch.status, "total": p.total,
            "done": p.done, "failed": p.failed, "pending": p.pending, "per_minute": p.per_minute,
            "failures": [{"row": f.row, "errors": f.errors} for f in p.failures]}


def _watch(services: Any, batch_id: str) -> progress.Progress:
    """Redraws the progress bar until the batch is finished; returns its last progress."""
    while True:
        p = progress.progress(services, OPERATOR, batch_id)
        eta = f"· 预计 ETA {p.eta_seconds / 60:.1f} min" if p.eta_seconds else ""
        note = f"{p.failed} 行出错 failed {eta}" if p.failed else eta
        progress_bar("批量签发 / issuing", p.done + p.failed, p.total, note, final=p.finished)
        if p.finished:
            return p
        time.sleep(0.5)


def _finish(services: Any, batch_id: str, wait: bool, threads: int) -> int:
    if not wait:
        print_json(_summary(progress.progress(services, OPERATOR, batch_id)))
        return EXIT_OK
    if not services.batch_queue.shared:  # with Redis the nodes' workers issue the rows; this command watches
        start_workers(services, threads)
    p = _watch(services, batch_id)
    for failure in p.failures:
        for path, messages in failure.errors.items():
            print(f"  第 {failure.row} 行 / row {failure.row}：{path or '—'}：{'；'.join(messages)}", file=sys.stderr)
    print_json(_summary(p))
    return EXIT_FAILED if p.failed else EXIT_OK


def _rows(services: Any, form: str, path: Path) -> tuple[list[Any], str]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InvalidData({"file": [f"无法读取文件 / cannot read the file: {path} ({exc.strerror})"]}) from None
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(content)
        except ValueError as exc:
            raise InvalidData({"file": [f"不是可读的 JSON 文件 / not a readable JSON file: {exc}"]}) from None
        if not isinstance(rows, list):
            raise InvalidData({"file": ["JSON 文件应为行的列表 / the JSON file must be a list of rows"]})
        return submit.rows_from_json(services, rows), "json"
    return submit.rows_from_file(services, form, content, path.name), kind_of(content)


def cmd_submit(args: argparse.Namespace) -> int:
    with operator_services(converter_workers=BATCH_CONVERTERS) as services:
        rows, source = _rows(services, args.form, Path(args.file))
        result = submit.submit(services, OPERATOR, args.form, args.agency, rows, source=source, filename=Path(args.file).name,
                               idempotency_key=args.key)
        print(f"批次 / batch {result.batch.id}: {result.batch.total} 行 rows" + ("（已提交过 / submitted before）" if result.replayed else ""),
              file=sys.stderr)
        return _finish(services, result.batch.id, not args.no_wait, args.threads)


def cmd_status(args: argparse.Namespace) -> int:
    with operator_services() as services:
        print_json(_summary(progress.progress(services, OPERATOR, args.batch_id)))
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    with operator_services(converter_workers=BATCH_CONVERTERS) as services:
        progress.get_batch(services, OPERATOR, args.batch_id)
        print(f"重新排队 / queued again: {submit.resume(services, args.batch_id)} 行 rows", file=sys.stderr)
        return _finish(services, args.batch_id, not args.no_wait, args.threads)


def cmd_archive(args: argparse.Namespace) -> int:
    with operator_services() as services:
        name, content = archive.build_archive(services, OPERATOR, args.batch_id)
        with open(args.out, "wb") as out:
            shutil.copyfileobj(content, out)
        print_json({"batch": args.batch_id, "out": args.out, "name": name})
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    Path(args.out).write_bytes(columns.template(get_form(args.form), args.format))
    print_json({"form": args.form, "format": args.format, "out": args.out})
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    """Only the batch workers, until SIGTERM/SIGINT: a node of its own for bulk work (docs/deploy.md)."""
    from ..housekeeping import Housekeeping

    with operator_services(converter_workers=args.converters) as services:
        if not services.batch_queue.shared:
            raise ConfigurationError("单独的批量签发进程需要共享队列：请设置 CHENGNUO_REDIS_URL（未设置时由 serve 进程自行签发）",
                                     "a separate batch worker needs the shared queue: set CHENGNUO_REDIS_URL (without it, serve issues "
                                     "batches itself)")
        housekeeping = Housekeeping(services)
        housekeeping.run_once()
        housekeeping.start()
        services.converter.start()
        start_workers(services, args.threads)
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        stopping.wait()
        housekeeping.stop()
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds ``batch`` and ``worker`` to the command line."""
    batch = sub.add_parser("batch", help="bulk issuing: many rows of one form").add_subparsers(dest="batch_command", required=True)
    p = batch.add_parser("submit", help="issue the rows of a CSV/XLSX (or JSON) file; waits with a progress bar")
    p.add_argument("file")
    p.add_argument("--form", required=True)
    p.add_argument("--agency")
    p.add_argument("--key", help="an Idempotency-Key: the same key and file give the same batch")
    p.add_argument("--no-wait", action="store_true", help="queue the rows and return (with Redis: the nodes' workers issue them)")
    p.add_argument("--threads", type=int, default=BATCH_THREADS, help="without Redis: rows this command issues at once")
    p.set_defaults(func=cmd_submit)
    p = batch.add_parser("status", help="a batch's progress")
    p.add_argument("batch_id")
    p.set_defaults(func=cmd_status)
    p = batch.add_parser("resume", help="queue a batch's pending rows again")
    p.add_argument("batch_id")
    p.add_argument("--no-wait", action="store_true")
    p.add_argument("--threads", type=int, default=BATCH_THREADS, help="without Redis: rows this command issues at once")
    p.set_defaults(func=cmd_resume)
    p = batch.add_parser("archive", help="the ZIP of a batch's PDFs and manifest.csv")
    p.add_argument("batch_id")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_archive)
    p = batch.add_parser("template", help="a form's spreadsheet template")
    p.add_argument("form")
    p.add_argument("--format", choices=("csv", "xlsx"), default="xlsx")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_template)
    w = sub.add_parser("worker", help="only the batch workers (needs CHENGNUO_REDIS_URL); stops on SIGTERM")
    w.add_argument("--threads", type=int, default=1, help="rows issued at once by this process")
    w.add_argument("--converters", type=int, default=2, help="LibreOffice workers of this process")
    w.set_defaults(func=cmd_worker)
