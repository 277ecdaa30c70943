"""An agency's catalogue imported from a spreadsheet: CSV (UTF-8 with or without BOM, or GB18030 as Excel in China
saves it) or XLSX.

The first non-empty row names the columns, in Chinese (``COLUMNS``) or by the field codes (``basis.law``). Rows
are numbered as the spreadsheet numbers them (the header is usually row 1). Every row goes through the same
validation as an item typed on the page (``catalog_use.load_item``); a bad row is refused with every error by its
field path, and the others are imported: an item the agency does not have yet is added, one of the same name gets
a new version when its data changed, and is left alone when it did not. A dry run says all that and changes
nothing. The import is audited as one entry with its counts and the versions it made.

Bounds: ``MAX_BYTES`` per file, ``MAX_ROWS`` data rows, ``MAX_COLUMNS`` columns, and ``spreadsheets.MAX_UNZIPPED`` for
what an XLSX unpacks to. A file over them is refused whole (413); an unreadable one names the problem on ``file`` (422).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..auth.principal import Principal
from ..errors import Conflict, FileTooLarge, InvalidData, bilingual
from ..runtime import Services
from ..spreadsheets import (
    blank,
    cell_text,
    cell_yes_no,
    csv_file,
    read_rows,
    unreadable,
    xlsx_file,
)
from .catalog_use import authorize_manage, dump_item, load_item
from .catalogue import KINDS, METHODS, CatalogItemSchema

MAX_BYTES = 1024 * 1024
MAX_ROWS = 500
MAX_COLUMNS = 60
OUTCOMES = ("added", "updated", "unchanged", "refused")


@dataclass(frozen=True)
class Column:
    header: str  # as the template writes it
    path: str  # the item's field; also accepted as the header
    kind: str = "text"  # text | lines (one entry per line) | yesno | count (working days) | days | kind | method
    aliases: tuple[str, ...] = ()


COLUMNS = (
    Column("事项类型", "kind", "kind"),
    Column("事项名称", "name"),
    Column("申请事项名称", "matter"),
    Column("证明用途", "purpose"),
    Column("依据名称", "basis.law"),
    Column("条款", "basis.article"),
    Column("条文内容", "basis.text"),
    Column("证明内容", "content", aliases=("许可条件和材料要求", "证明内容/许可条件和材料要求")),
    Column("应符合的条件", "conditions", "lines", aliases=("申请人应符合的条件",)),
    Column("材料要求", "materials", "lines"),
    Column("索要单位", "requester"),
    Column("开具单位", "issuer"),
    Column("可否代为承诺", "proxy_allowed", "yesno"),
    Column("不实承诺的责任", "consequences", "lines"),
    Column("是否公开", "disclosure.public", "yesno", aliases=("承诺书是否公开",)),
    Column("公开范围", "disclosure.scope"),
    Column("公开时限", "disclosure.period"),
    Column("公示期限（日）", "disclosure_days", "days"),
    Column("核查方式", "verification.method", "method"),
    Column("核验系统", "verification.system", aliases=("核验系统名称",)),
    Column("协助核查部门", "verification.agency"),
    Column("核查时限（工作日）", "verification.days", "count"),
    Column("协助回复期限（工作日）", "verification.reply_days", "count"),
    Column("监管措施", "supervision"),
    Column("联系人", "contact.name"),
    Column("联系电话", "contact.phone"),
    Column("失信信息目录网站", "credit_catalogue", aliases=("失信行为信息目录所属信用网站",)),
    Column("受理窗口", "window"),
    Column("所属领域", "area"),
    Column("备注", "remarks"),
)

NOTES = {
    "kind": "证明事项 或 涉企经营许可事项（proof / permit）",
    "conditions": "每行一条",
    "materials": "每行一条；涉企经营许可事项必填",
    "consequences": "每行一条",
    "proxy_allowed": "是 或 否",
    "disclosure.public": "是 或 否；公开的须填公开范围、公开时限和公示期限（日）",
    "disclosure_days": "公开的事项必填：自作出决定之日起公示的日数（1–3650），与公开时限一致",
    "verification.method": "、".join(METHODS.values()),
    "area": "一般事项；列入 002 三、004 四排除领域的事项不得导入",
}

_KIND_CODES = {zh: code for code, zh in KINDS.items()} | {code: code for code in KINDS}
_METHOD_CODES = {zh: code for code, zh in METHODS.items()} | {code: code for code in METHODS}


def _normal(header: str) -> str:
    return "".join(header.replace("\ufeff", "").split()).replace("(", "（").replace(")", "）").lower()


_BY_HEADER = {_normal(name): column for column in COLUMNS for name in (column.header, column.path, *column.aliases)}


def column_of(path: str) -> Column | None:
    """The column an error's path lands in (``conditions.2`` → 应符合的条件; ``basis`` → 依据名称)."""
    for column in COLUMNS:
        if path == column.path or path.startswith(f"{column.path}.") or column.path.startswith(f"{path}."):
            return column
    return None


@dataclass(frozen=True)
class RowResult:
    row: int
    name: str
    outcome: str  # one of OUTCOMES; in a dry run, what would happen
    item_id: str | None = None
    version: int | None = None  # the version added or made (None in a dry run)
    errors: Mapping[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, str]:
        """The column header of each error's path, for people who read the spreadsheet."""
        return {path: column.header for path in self.errors if (column := column_of(path))}


@dataclass(frozen=True)
class ImportReport:
    agency: str
    dry_run: bool
    rows: tuple[RowResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        counts = {outcome: 0 for outcome in OUTCOMES}
        for row in self.rows:
            counts[row.outcome] += 1
        return {"total": len(self.rows), **counts}

    @property
    def refused(self) -> tuple[RowResult, ...]:
        return tuple(row for row in self.rows if row.outcome == "refused")


# --- reading the file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    columns: tuple[Column | None, ...]  # by position
    rows: tuple[tuple[int, tuple[Any, ...]], ...]  # (row number, cells)


def read_table(content: bytes, filename: str | None = None) -> Table:
    """The file's header and rows. Raises FileTooLarge, and InvalidData on ``file`` for a file that cannot be read."""
    numbered = read_rows(content, filename, max_bytes=MAX_BYTES, max_rows=MAX_ROWS, max_columns=MAX_COLUMNS, sheet_name="事项目录")
    (_, header), data = numbered[0], numbered[1:]
    columns: list[Column | None] = []
    unknown, repeated = [], []
    for cell in header:
        if blank(cell):
            columns.append(None)
            continue
        column = _BY_HEADER.get(_normal(str(cell)))
        shown = "".join(c for c in str(cell).strip() if c.isprintable())[:50]
        if column is None:
            unknown.append(shown)
        elif column in columns:
            repeated.append(shown)
        columns.append(column)
    if unknown or repeated:
        problems = ([f"未知的列：{'、'.join(unknown)}"] if unknown else []) + ([f"重复的列：{'、'.join(repeated)}"] if repeated else [])
        english = ([f"unknown columns: {', '.join(unknown)}"] if unknown else []) + \
            ([f"repeated columns: {', '.join(repeated)}"] if repeated else [])
        raise InvalidData({"file": [bilingual("；".join(problems) + "（列名见导入模板）", "; ".join(english) + " (see the template)")]},
                          "表头有误", "the header row is wrong")
    if "name" not in {c.path for c in columns if c}:
        raise unreadable("缺少“事项名称”列", "the column 事项名称 (name) is missing")
    if len(data) > MAX_ROWS:
        raise FileTooLarge(f"一次最多导入 {MAX_ROWS} 行，本文件有 {len(data)} 行", f"at most {MAX_ROWS} rows per import; the file has {len(data)}",
                           code="too_many_rows")
    return Table(tuple(columns), tuple(data))


# --- a row → an item's raw data -----------------------------------------------------------------------


def _cell(column: Column, value: Any) -> Any:
    """The cell as the item's field holds it; raises ValueError with the bilingual message."""
    if column.kind == "lines":
        return [line.strip() for line in cell_text(value).split("\n") if line.strip()]
    if column.kind == "yesno":
        return cell_yes_no(value)
    if column.kind in ("count", "days"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = cell_text(value)
        if text.isdigit():
            return int(text)
        if column.kind == "days":
            raise ValueError(bilingual("应为整数（日数）", "must be a whole number of days"))
        raise ValueError(bilingual("应为整数（工作日数）", "must be a whole number of working days"))
    if column.kind in ("kind", "method"):
        codes, names = (_KIND_CODES, KINDS) if column.kind == "kind" else (_METHOD_CODES, METHODS)
        text = cell_text(value)
        if text in codes or text.lower() in codes:
            return codes.get(text) or codes[text.lower()]
        raise ValueError(bilingual(f"只能是以下之一：{'、'.join(names.values())}", f"must be one of: {', '.join(names)}"))
    return cell_text(value)


def row_item(columns: tuple[Column | None, ...], cells: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A row's raw item (empty cells left out, for the schema to require or default) and the cells that could not
    be read, by path."""
    raw: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for column, value in zip(columns, cells, strict=False):
        if column is None or blank(value):
            continue
        try:
            converted = _cell(column, value)
        except ValueError as exc:
            problems[column.path] = [str(exc)]
            continue
        *groups, leaf = column.path.split(".")
        target = raw
        for group in groups:
            target = target.setdefault(group, {})
        target[leaf] = converted
    return raw, problems


# --- the import ---------------------------------------------------------------------------------------


def _row_result(services: Services, principal: Principal, agency: str, number: int, raw: dict[str, Any],
                problems: dict[str, list[str]], seen: dict[str, int], dry_run: bool) -> RowResult:
    name = raw.get("name", "") if isinstance(raw.get("name"), str) else ""
    try:
        data = dump_item(load_item(raw))
        errors = dict(problems)
    except InvalidData as exc:
        # A cell that could not be read says so, rather than its field (or its group) being "required".
        errors = {path: messages for path, messages in exc.errors.items() if not any(p.startswith(f"{path}.") for p in problems)}
        errors.update(problems)
    if not errors and data["name"] in seen:
        errors = {"name": [bilingual(f"与第 {seen[data['name']]} 行的事项同名", f"the same name as row {seen[data['name']]}")]}
    if errors:
        return RowResult(number, name, "refused", errors=errors)
    seen[data["name"]] = number
    existing = services.catalog.by_name(agency, data["name"])
    if existing is not None and existing.retired_at is not None:
        return RowResult(number, name, "refused", existing.id, errors={"name": [bilingual(
            "本机关已停用同名事项，停用的事项不能再导入；请改用新的事项名称", "the agency retired an item of this name; import it under a new name")]})
    if existing is not None and dict(existing.data) == data:
        return RowResult(number, name, "unchanged", existing.id, existing.version)
    if dry_run:
        return RowResult(number, name, "added" if existing is None else "updated", existing.id if existing else None)
    try:
        if existing is None:
            record = services.catalog.add(agency, data, principal.actor, services.now())
            return RowResult(number, name, "added", record.id, record.version)
        record = services.catalog.edit(existing.id, data, principal.actor, services.now(), expected_version=existing.version)
        return RowResult(number, name, "updated", record.id, record.version)
    except Conflict as exc:  # someone else added or changed it meanwhile
        return RowResult(number, name, "refused", existing.id if existing else None, errors={"name": [exc.message]})


def import_items(services: Services, principal: Principal, agency_id: str | None, content: bytes, *,
                 filename: str | None = None, dry_run: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Imports the file's rows into the agency's catalogue (``dry_run``: only says what would happen).

    Raises NotFound (agency), Forbidden, FileTooLarge, InvalidData (on ``file``: the file itself cannot be read).
    Bad rows do not raise: they are refused in the report."""
    agency = services.agencies.get(agency_id or principal.default_agency())
    authorize_manage(principal, agency.id)
    table = read_table(content, filename)
    seen: dict[str, int] = {}
    results = []
    for done, (number, cells) in enumerate(table.rows, start=1):
        raw, problems = row_item(table.columns, cells)
        results.append(_row_result(services, principal, agency.id, number, raw, problems, seen, dry_run))
        if progress:
            progress(done, len(table.rows))
    report = ImportReport(agency.id, dry_run, tuple(results))
    if not dry_run:
        services.audit.record(actor=principal.actor, action="catalog_import", object=f"agency:{agency.id}", outcome="success",
                              detail={"agency": agency.id, "file": (filename or "")[:200], **report.counts,
                                      "items": [{"id": r.item_id, "version": r.version} for r in results
                                                if r.outcome in ("added", "updated")]})
    return report


# --- the templates --------------------------------------------------------------------------------------


def _notes() -> list[tuple[str, str, str, str]]:
    """(header, field code, required, what to write) for each column."""
    schema = CatalogItemSchema()
    rows = []
    for column in COLUMNS:
        field_ = schema.fields[column.path.split(".")[0]]
        for part in column.path.split(".")[1:]:
            field_ = field_.schema.fields[part]  # type: ignore[attr-defined]
        required = "必填" if field_.required else "选填"
        rows.append((column.header, column.path, required, NOTES.get(column.path) or (field_.metadata or {}).get("description", "")))
    return rows


def template(kind: str) -> bytes:
    """The import template: ``csv`` (UTF-8 with BOM, so that Excel opens it right) or ``xlsx`` (the header row, and a
    sheet that explains each column). Raises InvalidData for another kind."""
    headers = [column.header for column in COLUMNS]
    if kind == "csv":
        return csv_file([headers])
    if kind == "xlsx":
        notes = [["列名", "字段代码（也可作列名）", "是否必填", "填写说明"], *(list(row) for row in _notes())]
        return xlsx_file("事项目录", [headers], notes=notes, note_widths=(22, 26, 10, 80), width=lambda header: max(12, len(header) * 2 + 4))
    raise InvalidData({"format": [bilingual("模板格式只能是 csv 或 xlsx", "the template format is csv or xlsx")]})
