"""Spreadsheets people upload: CSV (UTF-8 with or without BOM, or GB18030 as Excel in China saves it) or XLSX, read
into numbered rows of cells, within bounds. Used by the catalogue import and by bulk issuing.

Rows are numbered as the spreadsheet numbers them (the header is usually row 1); blank rows are dropped. A file
over the bounds is refused whole (FileTooLarge, 413); an unreadable one names the problem on ``file`` (InvalidData).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from .errors import FileTooLarge, InvalidData, bilingual

MAX_UNZIPPED = 32 * 1024 * 1024
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def unreadable(zh: str, en: str) -> InvalidData:
    return InvalidData({"file": [bilingual(zh, en)]}, "文件无法导入", "the file cannot be imported")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _csv_rows(content: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise unreadable("CSV 文件的编码无法识别，请以 UTF-8 或 GB18030（Excel 的“CSV（逗号分隔）”）保存",
                         "the CSV is neither UTF-8 nor GB18030")
    if "\x00" in text:
        raise unreadable("不是 CSV 文本文件", "not a CSV text file")
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise unreadable(f"CSV 格式有误：{exc}", f"malformed CSV: {exc}") from None


def _xlsx_rows(content: bytes, *, sheet_name: str | None, max_rows: int, max_columns: int) -> list[tuple[Any, ...]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                raise FileTooLarge(f"XLSX 文件解压后超过 {MAX_UNZIPPED // 1024 // 1024} MB",
                                   f"the XLSX unpacks to more than {MAX_UNZIPPED // 1024 // 1024} MB", code="file_too_large")
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except FileTooLarge:
        raise
    except Exception as exc:  # a library's many ways to fail on a damaged file; the cause goes nowhere near the client
        raise unreadable("不是有效的 XLSX 文件", "not a readable XLSX workbook") from exc
    try:
        sheet = book[sheet_name] if sheet_name and sheet_name in book.sheetnames else book.worksheets[0]
        rows = []
        for row in sheet.iter_rows(min_row=1, max_col=max_columns, values_only=True):
            rows.append(row)
            if len(rows) > max_rows + 50:  # blank rows are allowed, within reason
                break
        return rows
    except Exception as exc:
        raise unreadable("XLSX 文件内容损坏，无法读取", "the XLSX workbook is damaged") from exc
    finally:
        book.close()


def read_rows(content: bytes, filename: str | None, *, max_bytes: int, max_rows: int, max_columns: int,
              sheet_name: str | None = None) -> list[tuple[int, tuple[Any, ...]]]:
    """The file's non-blank rows, numbered from 1 as the spreadsheet numbers them, header included."""
    if len(content) > max_bytes:
        raise FileTooLarge(f"文件超过 {max_bytes // 1024} KB", f"the file is larger than {max_bytes // 1024} KB", code="file_too_large")
    if not content.strip():
        raise unreadable("文件为空", "the file is empty")
    name = (filename or "").lower()
    if content.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise unreadable("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV", "old Excel (.xls) files are not read: save as .xlsx or CSV")
    raw_rows: Sequence[Sequence[Any]]
    if content.startswith(b"PK\x03\x04"):
        raw_rows = _xlsx_rows(content, sheet_name=sheet_name, max_rows=max_rows, max_columns=max_columns)
    elif name.endswith(".xlsx"):
        raise unreadable("不是有效的 XLSX 文件", "not a readable XLSX workbook")
    else:
        raw_rows = _csv_rows(content)
    numbered = [(number, tuple(cells)) for number, cells in enumerate(raw_rows, start=1) if not all(blank(c) for c in cells)]
    if not numbered:
        raise unreadable("文件中没有内容", "the file holds no rows")
    if len(numbered[0][1]) > max_columns:
        raise unreadable(f"列数超过 {max_columns}", f"more than {max_columns} columns")
    return numbered


YES = frozenset({"是", "可", "可以", "true", "yes", "y", "1", "√", "✓"})
NO = frozenset({"否", "不可", "不可以", "false", "no", "n", "0", "×"})


def cell_text(value: Any) -> str:
    """A cell as text: Excel's whole numbers without ``.0``, line ends normalised, outer spaces dropped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def cell_yes_no(value: Any) -> bool:
    """Raises ValueError with the bilingual message."""
    if isinstance(value, bool):
        return value
    word = cell_text(value).lower()
    if word in YES or word in NO:
        return word in YES
    raise ValueError(bilingual("应填“是”或“否”", "must be 是 (yes) or 否 (no)"))


def csv_file(rows: Sequence[Sequence[Any]]) -> bytes:
    """A CSV in UTF-8 with BOM (so that Excel opens it right), CRLF line ends."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def xlsx_file(sheet_title: str, rows: Sequence[Sequence[Any]], *, notes: Sequence[Sequence[Any]], note_widths: Sequence[int],
              width: Callable[[str], int]) -> bytes:
    """A template workbook: ``rows`` on the first sheet (the first row bold and frozen, each column ``width(header)``
    wide), and the sheet 填写说明 with ``notes`` (its first row the header; the fourth column onwards wrapped)."""
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(list(row))
    for index, header in enumerate(rows[0], start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = width(str(header))
    sheet.freeze_panes = "A2"
    explained = book.create_sheet("填写说明")
    for row in notes:
        explained.append(list(row))
    for index, column_width in enumerate(note_widths, start=1):
        explained.column_dimensions[get_column_letter(index)].width = column_width
    for row in explained.iter_rows(min_row=2):
        for cell in row[3:]:
            cell.alignment = Alignment(wrap_text=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def kind_of(content: bytes) -> str:
    return "xlsx" if content.startswith(b"PK\x03\x04") else "csv"
