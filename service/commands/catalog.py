"""python -m service catalog …: the item catalogue from the command line, as the operator (every agency).

    catalog list [--agency A] [--include-retired] · show ID [--version N]
    catalog add --agency A --data FILE.json · edit ID --data FILE.json [--version N] · retire ID
    catalog import FILE [--agency A] [--dry-run] · template --format csv|xlsx --out F
    catalog print --agency A --out OUT.pdf

Exit 0 when everything went through, 2 for invalid data (every bad field, or every refused row, is printed on
standard error), 1 for any other failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..auth.principal import OPERATOR
from ..errors import InvalidData
from ..registry.catalog import CatalogItemRecord
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    guarded,
    operator_services,
    print_json,
    progress_bar,
    read_json,
)

PROGRESS_FROM = 50  # rows; a shorter import finishes before a bar would help


def _record(record: CatalogItemRecord) -> dict[str, Any]:
    return {"id": record.id, "agency": record.agency, "kind": record.kind, "name": record.name, "version": record.version,
            "updated_at": record.updated_at, "updated_by": record.updated_by, "retired_at": record.retired_at, "data": dict(record.data)}


def cmd_list(args: argparse.Namespace) -> int:
    from ..cases.catalog_use import list_items

    with operator_services() as services:
        print_json({"items": [_record(r) for r in list_items(services, OPERATOR, args.agency, include_retired=args.include_retired)]})
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from ..cases.catalog_use import get_item

    with operator_services() as services:
        record = get_item(services, OPERATOR, args.item_id, args.version)
        print_json({**_record(record), "history": services.catalog.history(record.id)})
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    from ..cases.catalog_use import add_item

    raw = read_json(args.data)
    with operator_services() as services:
        print_json(_record(add_item(services, OPERATOR, args.agency, raw)))
    return EXIT_OK


def cmd_edit(args: argparse.Namespace) -> int:
    from ..cases.catalog_use import edit_item

    raw = read_json(args.data)
    with operator_services() as services:
        print_json(_record(edit_item(services, OPERATOR, args.item_id, raw, expected_version=args.version)))
    return EXIT_OK


def cmd_retire(args: argparse.Namespace) -> int:
    from ..cases.catalog_use import retire_item

    with operator_services() as services:
        print_json(_record(retire_item(services, OPERATOR, args.item_id)))
    return EXIT_OK


def _progress_bar(done: int, total: int) -> None:
    if total >= PROGRESS_FROM:
        progress_bar("导入 / importing", done, total, final=done == total)


def cmd_import(args: argparse.Namespace) -> int:
    from ..cases.catalog_import import import_items

    try:
        content = Path(args.file).read_bytes()
    except OSError as exc:
        raise InvalidData({"file": [f"无法读取文件 / cannot read the file: {args.file} ({exc.strerror})"]}) from None
    with operator_services() as services:
        report = import_items(services, OPERATOR, args.agency, content, filename=Path(args.file).name, dry_run=args.dry_run,
                              progress=_progress_bar)
    for row in report.refused:
        for path, messages in row.errors.items():
            where = f"{row.columns[path]}（{path}）" if path in row.columns else path
            for message in messages:
                print(f"  第 {row.row} 行 / row {row.row} {row.name}：{where}：{message}", file=sys.stderr)
    counts = report.counts
    print(("试导入（未写入）" if report.dry_run else "导入") + f"：新增 {counts['added']}，更新 {counts['updated']}，未变 {counts['unchanged']}，"
          f"拒绝 {counts['refused']} / {'dry run' if report.dry_run else 'imported'}: {counts['added']} added, {counts['updated']} updated, "
          f"{counts['unchanged']} unchanged, {counts['refused']} refused", file=sys.stderr)
    print_json({"agency": report.agency, "dry_run": report.dry_run, "counts": counts,
                "rows": [{"row": r.row, "name": r.name, "outcome": r.outcome, "item_id": r.item_id, "version": r.version,
                          "errors": dict(r.errors)} for r in report.rows]})
    return EXIT_INVALID if report.refused else EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from ..cases.catalog_import import template

    Path(args.out).write_bytes(template(args.format))
    print_json({"format": args.format, "out": args.out})
    return EXIT_OK


def cmd_print(args: argparse.Namespace) -> int:
    from ..cases.catalog_print import print_catalogue

    with operator_services() as services:
        record = print_catalogue(services, OPERATOR, args.agency).document
        Path(args.out).write_bytes(services.files.get(record.pdf_path))
    print_json({"id": record.id, "form": record.form, "serial": record.serial, "sha256": record.sha256, "catalog_items": record.catalog_items})
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds ``catalog`` to the command line."""
    catalog = sub.add_parser("catalog", help="the item catalogue (事项目录): list, show, add, edit, retire, import, template, print")
    commands = catalog.add_subparsers(dest="catalog_command", required=True)

    listing = commands.add_parser("list", help="the current items")
    listing.add_argument("--agency", help="one agency (default: every agency)")
    listing.add_argument("--include-retired", action="store_true", help="also the retired items")
    listing.set_defaults(func=guarded(cmd_list))

    show = commands.add_parser("show", help="one item and its version history")
    show.add_argument("item_id")
    show.add_argument("--version", type=int, help="an earlier version")
    show.set_defaults(func=guarded(cmd_show))

    add = commands.add_parser("add", help="add an item (its data as JSON, the fields of GET /api/v1/catalog/items/{id} → data)")
    add.add_argument("--agency", help="the agency (default: the configured default)")
    add.add_argument("--data", required=True, help="the item as a JSON file (- for standard input)")
    add.set_defaults(func=guarded(cmd_add))

    edit = commands.add_parser("edit", help="edit an item: a new version")
    edit.add_argument("item_id")
    edit.add_argument("--data", required=True, help="the whole item as a JSON file (- for standard input)")
    edit.add_argument("--version", type=int, help="the version the edit starts from (refused if it changed since)")
    edit.set_defaults(func=guarded(cmd_edit))

    retire = commands.add_parser("retire", help="retire an item (its versions stay readable)")
    retire.add_argument("item_id")
    retire.set_defaults(func=guarded(cmd_retire))

    imports = commands.add_parser("import", help="import items from CSV or XLSX (exit 2 when a row is refused; the others go in)")
    imports.add_argument("file")
    imports.add_argument("--agency", help="the agency (default: the configured default)")
    imports.add_argument("--dry-run", action="store_true", help="only report what would happen")
    imports.set_defaults(func=guarded(cmd_import))

    template = commands.add_parser("template", help="write the import template")
    template.add_argument("--format", required=True, choices=["csv", "xlsx"])
    template.add_argument("--out", required=True)
    template.set_defaults(func=guarded(cmd_template))

    printing = commands.add_parser("print", help="issue the 证明事项目录 (item-catalog form) from the agency's proof items")
    printing.add_argument("--agency", required=True)
    printing.add_argument("--out", required=True, help="where to write the PDF")
    printing.set_defaults(func=guarded(cmd_print))
