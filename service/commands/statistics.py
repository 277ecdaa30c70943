"""python -m service statistics: the figures of the statistics page, as the operator (any agency, or the whole service).

    statistics [--agency A] [--from D] [--to D] [--format json|csv|xlsx] [--out FILE]

Without ``--agency`` the whole service is counted. JSON goes to standard output unless ``--out`` names a file; XLSX
needs ``--out``. Exit 0 done, 2 a bad parameter (each named on standard error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..auth.principal import OPERATOR
from ..cases import statistics
from ..errors import InvalidRequest, bilingual
from .common import EXIT_INVALID, EXIT_OK, operator_services


def cmd_statistics(args: argparse.Namespace) -> int:
    if args.format == "xlsx" and not args.out:
        print(bilingual("XLSX 须用 --out 指定文件", "XLSX needs --out FILE"), file=sys.stderr)
        return EXIT_INVALID
    query = {"agency": args.agency or "", "from": args.from_ or "", "to": args.to or ""}
    with operator_services() as services:
        try:
            figures = statistics.statistics(services, OPERATOR, query)
        except InvalidRequest as exc:
            for name, messages in exc.errors.items():
                for message in messages:
                    print(f"  --{name}: {message}", file=sys.stderr)
            print(f"错误 / error: {exc.message}", file=sys.stderr)
            return EXIT_INVALID
    if args.format == "json":
        body = (json.dumps(figures.as_dict(), ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")
    else:
        body = statistics.as_csv(figures) if args.format == "csv" else statistics.as_xlsx(figures)
    if args.out:
        Path(args.out).write_bytes(body)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds ``statistics`` to the command line."""
    parser = sub.add_parser("statistics", help="cases by type, item and outcome, the commitment share, false commitments, deadlines, "
                                               "working days to decision (counts only)")
    parser.add_argument("--agency", help="one agency (default: the whole service)")
    parser.add_argument("--from", dest="from_", metavar="YYYY-MM-DD", help="received on or after (default: 1 January of this year)")
    parser.add_argument("--to", metavar="YYYY-MM-DD", help="received on or before (default: today)")
    parser.add_argument("--format", choices=("json", "csv", "xlsx"), default="json")
    parser.add_argument("--out", help="write the file here")
    parser.set_defaults(func=cmd_statistics)
