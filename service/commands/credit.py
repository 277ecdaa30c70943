"""python -m service credit …: credit information for the credit platform, as the operator (every agency).

    credit export --agency A --from D --to D --format csv|xlsx|json --out F [--full]
    credit exports [--agency A]                           the earlier exports (never their rows)

The export's file goes to ``--out``; standard output gets one JSON object: the export's id, agency, period, format
and row count (never the rows). Exit 0 done, 2 invalid options or unknown agency, 1 any other failure.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..auth.principal import OPERATOR
from ..cases import credit_export, inputs
from .common import EXIT_OK, operator_services, print_json


def cmd_export(args: argparse.Namespace) -> int:
    data = inputs.parse(credit_export.CreditExportRequestSchema,
                        {"agency": args.agency, "from": args.date_from, "to": args.date_to, "format": args.format, "full": args.full})
    with operator_services() as services:
        made = credit_export.export(services, OPERATOR, data)
        Path(args.out).write_bytes(made.content())
        print_json({**dataclasses.asdict(made.record), "full": made.full, "out": args.out})
    return EXIT_OK


def cmd_exports(args: argparse.Namespace) -> int:
    with operator_services() as services:
        print_json({"exports": [dataclasses.asdict(e) for e in credit_export.list_exports(services, OPERATOR, args.agency)]})
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds ``credit`` to the command line."""
    credit = sub.add_parser("credit", help="credit information (信用承诺信息, 践诺信息) for the credit platform")
    commands = credit.add_subparsers(dest="credit_command", required=True)
    export = commands.add_parser("export", help="export an agency's rows of a period (by decision date) new or changed since the last export")
    export.add_argument("--agency", required=True)
    export.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first decision date (included)")
    export.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last decision date (included)")
    export.add_argument("--format", required=True, choices=list(credit_export.FORMATS))
    export.add_argument("--out", required=True, help="write the file here")
    export.add_argument("--full", action="store_true", help="every row of the period, exported before or not")
    export.set_defaults(func=cmd_export)
    listing = commands.add_parser("exports", help="the earlier exports, newest first (never their rows)")
    listing.add_argument("--agency")
    listing.set_defaults(func=cmd_exports)
