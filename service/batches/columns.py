"""A form's fields as spreadsheet columns, the per-form templates, and a row's cells turned back into the form's data.

Each column is one field by its data path (``applicant.name``), headed by its Chinese label and the path
(``申请人·姓名（applicant.name）``); an upload may head a column with either, or both. A list of texts (``consequences``)
is one cell, one entry per line; a list of groups has a column per entry and field (``items.1.name`` …). Cells are
taken as typed: the form's schema validates each row when it is issued, and a bad row is reported with its errors.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import PROJECT_ROOT
from ..errors import InvalidData, bilingual
from ..forms import FormSpec
from ..forms.field_list import Column, columns
from ..spreadsheets import (
    blank,
    cell_text,
    cell_yes_no,
    csv_file,
    unreadable,
    xlsx_file,
)

GROUP_ROWS_IN_TEMPLATE = 3  # columns offered per list of groups in a template; an upload may have more
_HEADER = re.compile(r"^(?P<label>.*?)\s*[（(]\s*(?P<path>[A-Za-z_][\w.]*)\s*[)）]\s*$")
_INDEXED = re.compile(r"^(?P<list>[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)\.(?P<index>\d+)\.(?P<rest>[A-Za-z_][\w.]*)$")


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")").lower()


def _lookup(spec: FormSpec) -> dict[str, Column]:
    found: dict[str, Column] = {}
    for column in columns(spec):
        found[_normal(column.path)] = column
        if "#" not in column.path:
            found[_normal(column.label)] = column
    return found


@dataclass(frozen=True)
class Heading:
    column: Column
    path: str  # the data path of this cell: ``items.0.name`` for the first entry of a list of groups


def read_header(spec: FormSpec, header: Sequence[Any]) -> list[Heading | None]:
    """The header row's columns; raises InvalidData on ``file`` naming unknown and repeated columns."""
    lookup = _lookup(spec)
    result: list[Heading | None] = []
    unknown, repeated, seen = [], [], set()
    for cell in header:
        if blank(cell):
            result.append(None)
            continue
        text = cell_text(cell)
        match = _HEADER.match(text)
        key = match["path"] if match else text
        heading = None
        if (column := lookup.get(_normal(key))) is not None:
            heading = Heading(column, column.path)
        elif (indexed := _INDEXED.match(key)) and int(indexed["index"]) >= 1:
            column = lookup.get(_normal(f"{indexed['list']}.#.{indexed['rest']}"))
            if column is not None:
                heading = Heading(column, f"{indexed['list']}.{int(indexed['index']) - 1}.{indexed['rest']}")
        shown = "".join(c for c in text if c.isprintable())[:60]
        if heading is None:
            unknown.append(shown)
        elif heading.path in seen:
            repeated.append(shown)
        else:
            seen.add(heading.path)
        result.append(heading)
    if unknown or repeated:
        zh = ([f"未知的列：{'、'.join(unknown)}"] if unknown else []) + ([f"重复的列：{'、'.join(repeated)}"] if repeated else [])
        en = ([f"unknown columns: {', '.join(unknown)}"] if unknown else []) + ([f"repeated columns: {', '.join(repeated)}"] if repeated else [])
        raise InvalidData({"file": [bilingual("；".join(zh) + f"（列名见 {spec.id} 的批量模板）", "; ".join(en) + f" (see the batch template of {spec.id})")]},
                          "表头有误", "the header row is wrong")
    if not any(result):
        raise unreadable("第一行应为列名", "the first row must name the columns")
    return result


def _cell(column: Column, value: Any) -> Any:
    """Raises ValueError with the bilingual message."""
    if column.kind == "lines":
        return [line.strip() for line in cell_text(value).split("\n") if line.strip()]
    if column.kind == "yesno":
        return cell_yes_no(value)
    if column.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return cell_text(value).replace("/", "-")
    if column.kind == "number":
        text = cell_text(value)
        return int(text) if text.lstrip("-").isdigit() else text
    return cell_text(value)


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    target: Any = data
    for part, following in itertools.pairwise(parts):
        if isinstance(target, list):
            index = int(part)
            while len(target) <= index:
                target.append({})
            target = target[index]
            continue
        target = target.setdefault(part, [] if following.isdigit() else {})
    if isinstance(target, list):
        index = int(parts[-1])
        while len(target) <= index:
            target.append({})
        target[index] = value
    else:
        target[parts[-1]] = value


def row_data(headings: Sequence[Heading | None], cells: Sequence[Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A row's data (empty cells left out, for the schema to require or default) and the cells that could not be read."""
    data: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for heading, value in zip(headings, cells, strict=False):
        if heading is None or blank(value):
            continue
        try:
            _put(data, heading.path, _cell(heading.column, value))
        except ValueError as exc:
            problems[heading.path] = [str(exc)]
    for key, value in list(data.items()):
        if isinstance(value, list) and value and isinstance(value[0], dict):
            data[key] = [entry for entry in value if entry]
    return data, problems


# --- the templates ------------------------------------------------------------------------------


def _sample(spec: FormSpec) -> Mapping[str, Any]:
    try:
        return json.loads((PROJECT_ROOT / "samples" / f"{spec.id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _example(sample: Mapping[str, Any], path: str) -> str:
    value: Any = sample
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if isinstance(value, (dict, list)) else str(value)


def _template_columns(spec: FormSpec) -> list[tuple[str, Column, str]]:
    """(header, column, data path) in template order."""
    out = []
    for column in columns(spec):
        if "#" in column.path:
            out.extend((column.header(i), column, column.path.replace("#", str(i - 1))) for i in range(1, GROUP_ROWS_IN_TEMPLATE + 1))
        else:
            out.append((column.header(), column, column.path))
    return out


def template(spec: FormSpec, kind: str) -> bytes:
    """The batch template of a form: ``csv`` (UTF-8 with BOM, so that Excel opens it right; the header and the sample
    row) or ``xlsx`` (the same, and a sheet that explains each column). Raises InvalidData for another kind."""
    sample = _sample(spec)
    layout = _template_columns(spec)
    headers = [header for header, _, _ in layout]
    example = [_example(sample, path) for _, _, path in layout]
    rows = [headers, example] if any(example) else [headers]
    if kind == "csv":
        return csv_file(rows)
    if kind == "xlsx":
        notes = [["列名", "字段代码", "是否必填", "填写说明", "示例"]] + [
            [header, path, "必填" if column.required else "选填", column.description, _example(sample, path)] for header, column, path in layout]
        return xlsx_file("批量签发", rows, notes=notes, note_widths=(34, 28, 10, 60, 40), width=lambda header: min(40, max(12, len(header) + 4)))
    raise InvalidData({"format": [bilingual("只能是 csv 或 xlsx", "must be csv or xlsx")]})
