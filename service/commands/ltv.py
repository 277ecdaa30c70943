"""python -m service ltv …: long-term validation of the stored documents.

    ltv renew [--within-days N] [--limit N] [--dry-run]

``renew`` adds a fresh archival timestamp to every issued document whose last timestamp's TSA certificate ends
within N days (default ``CHENGNUO_LTV_RENEW_DAYS``), with a progress bar; it logs one line per renewed document and
prints a summary (examined, due, renewed, blocked, failed; a line for each document blocked or failed). Safe to stop
(Ctrl-C) and run again. Exit 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from .. import renewal
from ..auth.principal import OPERATOR
from .common import EXIT_FAILED, EXIT_OK, operator_services, progress_bar


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


class _Bar:
    label = "存档续期 / renewing"

    def __init__(self) -> None:
        self.done = self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        progress_bar(self.label, done, total, final=done == total)
        if done < total:
            print("\r", end="", file=sys.stderr, flush=True)  # the next document's log line starts over the bar, not after it

    def finish(self) -> None:
        """Ends the bar's line where the run stopped early (--limit, Ctrl-C)."""
        if self.done < self.total:
            progress_bar(self.label, self.done, self.total, final=True)


def cmd_renew(args: argparse.Namespace) -> int:
    logging.getLogger("service.renewal").setLevel(logging.INFO)  # one line per renewed document
    within = dt.timedelta(days=args.within_days) if args.within_days is not None else None
    with operator_services() as services:
        days = args.within_days if args.within_days is not None else services.settings.ltv_renew_days
        print(f"时间戳证书 {days} 天内到期的文书将续期 / renewing documents whose timestamp certificate ends within {days} days"
              f"{'（演练，不写入 / dry run: nothing is written）' if args.dry_run else ''}", file=sys.stderr)
        bar = _Bar()
        try:
            summary = renewal.renew_archives(services, OPERATOR, within=within, limit=args.limit, dry_run=args.dry_run, progress=bar)
        except KeyboardInterrupt:
            bar.finish()
            print("已中断；已续期的文书已记录，可再次运行 / interrupted: what was renewed is recorded; run again to go on", file=sys.stderr)
            return EXIT_FAILED
        bar.finish()
    for outcome in summary.outcomes:
        if outcome.state in (renewal.BLOCKED, renewal.FAILED):
            print(f"{outcome.state:8} {outcome.serial}  {outcome.reason}")
    verb = "would renew" if summary.dry_run else "renewed"
    print(f"examined {summary.examined} of {summary.total}, due {summary.due}, {verb} "
          f"{summary.count(renewal.WOULD_RENEW) if summary.dry_run else summary.renewed}, blocked {summary.blocked}, failed {summary.failed}")
    return EXIT_OK if summary.ok else EXIT_FAILED


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds ``ltv`` to the command line."""
    ltv = sub.add_parser("ltv", help="long-term validation of stored documents").add_subparsers(dest="ltv_command", required=True)
    p = ltv.add_parser("renew", help="add a fresh archival timestamp where the last one's TSA certificate nears its end")
    p.add_argument("--within-days", type=_positive, help="due when the certificate ends within this many days (default: CHENGNUO_LTV_RENEW_DAYS)")
    p.add_argument("--limit", type=_positive, help="stop after renewing this many documents")
    p.add_argument("--dry-run", action="store_true", help="report what is due and what would be renewed; write nothing")
    p.set_defaults(func=cmd_renew)
