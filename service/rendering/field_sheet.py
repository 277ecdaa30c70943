"""The field sheet an agency gets with the template it downloads to edit (issue 19): every placeholder the
template uses — its meaning in Chinese, an example from the form's sample, whether it is required — then the
template's loops and conditions in plain words, and the labels the seal and signatures are placed at.

It is made from the template itself (its Jinja, read as docxtpl renders it) and the form's schema, so it
describes the file the agency holds, edited or not.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from jinja2 import nodes

from ..forms.field_list import Column, columns
from ..forms.jsonschema import sample
from ..forms.spec import FormSpec
from .environment import make_environment
from .template_check import derived_names, template_sources

# What the service itself puts into every template (service/forms/spec.py RESERVED_CONTEXT).
RESERVED = {
    "number": ("文书编号（签发时按本机关的编号规则自动生成）", "[2026年]第5号"),
    "serial": ("本服务的登记编号（核验用）", "2026-00000123-7K3Q"),
    "verify_url": ("核验网址", "https://…/verify/2026-00000123-7K3Q"),
    "qr": ("核验二维码（图片）", "二维码"),
    "agency": ("签发机关（agency.name 为机关全称）", "晋城市司法局"),
    "agency.name": ("签发机关全称", "晋城市司法局"),
    "issued_on": ("签发日期", "2026年11月29日"),
    "form": ("表单（form.title 为表单名称）", "证明事项告知承诺书"),
}


@dataclass
class _Placeholder:
    path: str  # resolved data path: ``items[].name``
    written: str  # as the template writes it: ``item.name``
    loops: tuple[str, ...]  # the lists it is repeated for, outermost first


@dataclass
class _Found:
    placeholders: dict[str, _Placeholder] = field(default_factory=dict)
    loops: list[tuple[str, str, str]] = field(default_factory=list)  # (written target, list path, written iterable)
    conditions: list[tuple[str, nodes.Expr, bool]] = field(default_factory=list)  # (written test, test, has an else)


def _written(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        base = _written(node.node)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _written(node.node)
        return f"{base}[{node.arg.value!r}]" if base else None
    if isinstance(node, nodes.Filter) and node.node is not None:
        base = _written(node.node)
        arguments = "(…)" if node.args or node.kwargs else ""
        return f"{base} | {node.name}{arguments}" if base else None
    return None


def _resolved(node: nodes.Node, scope: Mapping[str, str]) -> str | None:
    if isinstance(node, nodes.Name):
        return scope.get(node.name, node.name)
    if isinstance(node, nodes.Getattr):
        base = _resolved(node.node, scope)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        base = _resolved(node.node, scope)
        return f"{base}.{node.arg.value}" if base else None
    if isinstance(node, nodes.Filter) and node.node is not None:
        return _resolved(node.node, scope)
    return None


def _walk(node: nodes.Node, scope: dict[str, str], loops: tuple[str, ...], found: _Found) -> None:
    if isinstance(node, nodes.For):
        iterable = _resolved(node.iter, scope) or "?"
        target = _written(node.target) or "…"
        found.loops.append((target, iterable, _written(node.iter) or iterable))
        inner = dict(scope)
        if isinstance(node.target, nodes.Name):
            inner[node.target.name] = f"{iterable}[]"
        for child in node.body:
            _walk(child, inner, (*loops, iterable), found)
        for child in node.else_:
            _walk(child, scope, loops, found)
        return
    if isinstance(node, nodes.If):
        written = _written(node.test) or ""
        if all(w != written for w, _, _ in found.conditions):
            found.conditions.append((written, node.test, bool(node.else_ or node.elif_)))
        _walk(node.test, scope, loops, found)
        for child in [*node.body, *node.elif_, *node.else_]:
            _walk(child, scope, loops, found)
        return
    if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Filter)):
        path, written = _resolved(node, scope), _written(node)
        if path and written and path not in found.placeholders:
            found.placeholders[path] = _Placeholder(path, written, loops)
        if path:
            return
    for child in node.iter_child_nodes():
        _walk(child, scope, loops, found)


def _template_structure(template: bytes) -> _Found:
    found = _Found()
    env = make_environment()
    for source in template_sources(template):
        try:
            _walk(env.parse(source), {}, (), found)
        except jinja2.TemplateSyntaxError:
            continue  # the check reports it; the sheet describes what can be read
    return found


def _example(data: Any, path: str) -> str:
    value: Any = data
    for part in path.replace("[]", ".0").split("."):
        if part == "":
            continue
        if isinstance(value, list):
            value = value[int(part)] if part.isdigit() and int(part) < len(value) else (value[0] if value else None)
            if part.isdigit():
                continue
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and value:
            value = value[0].get(part) if isinstance(value[0], Mapping) else None
        else:
            return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "；".join(str(v) for v in value[:3]) + ("……" if len(value) > 3 else "")
    return "" if value is None else str(value)[:80]


def _column_for(path: str, by_path: Mapping[str, Column]) -> Column | None:
    return by_path.get(path.replace("[]", ".#").replace(".#.#", ".#")) or by_path.get(path.replace("[]", ""))


def _label(path: str, by_path: Mapping[str, Column]) -> str:
    """The Chinese name of a field, a group (``proxy``: 代为承诺人) or a list of groups (``items``)."""
    column = _column_for(path, by_path)
    if column is not None:
        return column.label
    if path in RESERVED:
        return RESERVED[path][0]
    plain = path.replace("[]", "")
    for key, column in by_path.items():
        if key.startswith(f"{plain}.#."):
            return column.label.split("（第#项）")[0]
        if key.startswith(f"{plain}."):
            return column.label.rsplit("·", 1)[0]
    return path


def _condition_words(test: nodes.Expr, by_path: Mapping[str, Column]) -> str:
    if isinstance(test, nodes.Not):
        return f"{_condition_words(test.node, by_path)}不成立"
    if isinstance(test, nodes.And):
        return f"{_condition_words(test.left, by_path)}，并且{_condition_words(test.right, by_path)}"
    if isinstance(test, nodes.Or):
        return f"{_condition_words(test.left, by_path)}，或者{_condition_words(test.right, by_path)}"
    if isinstance(test, nodes.Compare) and len(test.ops) == 1 and isinstance(test.ops[0].expr, nodes.Const):
        path = _resolved(test.expr, {})
        words = {"eq": "等于", "ne": "不等于", "gt": "大于", "lt": "小于", "gteq": "不小于", "lteq": "不大于", "in": "属于"}
        if path:
            return f"「{_label(path, by_path)}」{words.get(test.ops[0].op, test.ops[0].op)}「{test.ops[0].expr.value}」"
    path = _resolved(test, {})
    if path:
        return f"「{_label(path, by_path)}」为“是”或已填写"
    return "模板中写明的条件成立"


def _set_fonts(document: Any) -> None:
    style = document.styles["Normal"]
    style.font.name = "FangSong"
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")


def _table(document: Any, header: Sequence[str], rows: Iterator[Sequence[str]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row):
            cell.text = text


def field_sheet_docx(spec: FormSpec, template: bytes, *, version: str = "内置版本", today: dt.date | None = None) -> bytes:
    """The field sheet (DOCX) of ``template`` (the DOCX bytes of ``spec``'s template, as the agency has it);
    ``version`` names which one it is (内置版本, or the agency's version number)."""
    found = _template_structure(template)
    fields_ = columns(spec)
    by_path = {column.path: column for column in fields_}
    data = sample(spec)
    try:
        derived = derived_names(spec, data, today or dt.date.today())
        context = {**data, **dict(spec.derive(spec.schema().load(data), today or dt.date.today()) if spec.derive else {})}
    except Exception:  # noqa: BLE001 - a sample that fails to load only costs the derived examples
        derived, context = set(), dict(data)

    document = Document()
    _set_fonts(document)
    title = document.add_heading(f"《{spec.title}》模板字段说明", level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(f"表单：{spec.id}（{spec.source}）；模板：{version}。Field sheet of the template, for editing it in Word or LibreOffice.")
    document.add_paragraph(
        "编辑要点：用双花括号括起的文字（如 {{ applicant.name }}）是占位符，签发时换成所填的内容，请原样保留括号与其中的英文；"
        "{% … %} 是循环或条件的标记，必须成对保留（{% for %} 与 {% endfor %}，{% if %} 与 {% endif %}）。"
        "其余文字、字体、字号、段落与表格样式均可修改。改完请上传检查，检查通过并预览无误后再发布。")

    document.add_heading("一、占位符 Placeholders", level=2)

    def rows() -> Iterator[Sequence[str]]:
        for placeholder in found.placeholders.values():
            column = _column_for(placeholder.path, by_path)
            root = placeholder.path.split(".")[0].split("[")[0]
            if column is not None:
                meaning = column.label + (f"：{column.description}" if column.description else "")
                required = "必填" if column.required else "选填"
            elif placeholder.path in RESERVED or root in RESERVED:
                meaning, example = RESERVED.get(placeholder.path, RESERVED[root])
                yield (f"{{{{ {placeholder.written} }}}}", meaning, example, "系统生成")
                continue
            elif root in derived:
                meaning, required = "由系统根据所填内容生成的文字", "系统生成"
            else:
                continue  # a loop's own bookkeeping or a name the check reports as undefined
            where = f"（在对「{_label(placeholder.loops[-1], by_path)}」的循环内，每项一次）" if placeholder.loops else ""
            yield (f"{{{{ {placeholder.written} }}}}", meaning + where, _example(context, placeholder.path), required)

    _table(document, ("占位符", "含义", "示例", "是否必填"), rows())
    shown = {id(_column_for(p, by_path)) for p in found.placeholders}
    unused = [c for c in fields_ if id(c) not in shown]
    if unused:
        document.add_paragraph("以下字段本模板未使用（签发时仍可填写，但不会印出）：" + "、".join(f"{c.label}（{c.path}）" for c in unused))

    document.add_heading("二、循环与条件 Loops and conditions", level=2)
    if not found.loops and not found.conditions:
        document.add_paragraph("本模板没有循环或条件。")
    for target, iterable, written in found.loops:
        texts = by_path.get(iterable.replace("[]", ".#"))
        item = f"{target} 即当前这一项的文字" if texts is not None and texts.kind == "lines" else f"{target}.xxx 指当前这一项的各项内容"
        document.add_paragraph(
            f"{{% for {target} in {written} %}} …… {{% endfor %}}：对「{_label(iterable, by_path)}」中的每一项，重复其间的内容一次；其间的 {item}。",
            style="List Bullet")
    for written, test, otherwise in found.conditions:
        document.add_paragraph(f"{{% if {written} %}} …… {{% endif %}}：仅当{_condition_words(test, by_path)}时，印出其间的内容"
                               + ("；否则印出 {% else %} 之后的内容。" if otherwise else "。"), style="List Bullet")

    document.add_heading("三、盖章与签名位置 Seal and signatures", level=2)
    if spec.labels:
        document.add_paragraph("签发时，电子印章和各方的签名放在以下文字处，请一字不差地保留（包括括号）：")
        for label in spec.labels:
            document.add_paragraph(label, style="List Bullet")
    else:
        document.add_paragraph("本表单不加盖机关印章。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
