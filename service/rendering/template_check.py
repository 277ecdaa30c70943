"""Checks a DOCX template against its form's schema, as an agency that edited it in Word would want:

- syntax errors (with the text around them, not the XML);
- placeholders the schema does not define (``{{ applicant.nmae }}``), loop variables resolved;
- schema fields the template never uses (unless the form lists them as deliberately unprinted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate
from jinja2 import nodes
from marshmallow import Schema, fields

from ..forms.jsonschema import sample
from ..forms.spec import RESERVED_CONTEXT, FormSpec
from .docx_render import make_environment
from .label_marks import bookmark_names, mark_labels
from .slim import slim_docx

_HEADER = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header"
_FOOTER = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer"
_JINJA_GLOBALS = {"loop", "range", "true", "false", "none", "True", "False", "None", "lipsum", "dict", "cycler", "joiner", "namespace"}


@dataclass(frozen=True)
class Problem:
    """One finding of ``check_template_bytes``: where it is (``location``, a line of the document) and what."""

    kind: str  # syntax | undefined | unused | missing_label | removed_sentence
    severity: str  # error | warning
    location: str
    excerpt: str
    zh: str
    en: str


@dataclass(frozen=True)
class TemplateReport:
    form: str
    template: str
    syntax_errors: tuple[str, ...] = ()
    undefined: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()
    missing_labels: tuple[str, ...] = ()  # seal/signature labels the signing step will not find
    used: tuple[str, ...] = field(default=(), repr=False)
    unmarked_labels: tuple[str, ...] = ()  # present, but split across runs: found by PDFium, more slowly (advice only)
    problems: tuple[Problem, ...] = ()  # check_template_bytes only: every finding, by line (placeholder, see below)

    @property
    def ok(self) -> bool:
        return not (self.syntax_errors or self.undefined or self.unused or self.missing_labels)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")


def schema_paths(schema: Schema | type[Schema], prefix: str = "") -> set[str]:
    """Every path a template may use: ``applicant``, ``applicant.name``, ``items[]``, ``rows[].basis`` …"""
    instance = schema() if isinstance(schema, type) else schema
    paths: set[str] = set()
    for name, field_ in instance.fields.items():
        path = f"{prefix}{name}"
        paths.add(path)
        paths |= _field_paths(field_, path)
    return paths


def _field_paths(field_: fields.Field, path: str) -> set[str]:
    if isinstance(field_, fields.Nested):
        return schema_paths(field_.schema, f"{path}.")
    if isinstance(field_, fields.List):
        return {f"{path}[]"} | _field_paths(field_.inner, f"{path}[]")
    return set()


def leaf_paths(schema: Schema | type[Schema], prefix: str = "") -> set[str]:
    instance = schema() if isinstance(schema, type) else schema
    leaves: set[str] = set()
    for name, field_ in instance.fields.items():
        path = f"{prefix}{name}"
        while isinstance(field_, fields.List):
            field_, path = field_.inner, f"{path}[]"
        if isinstance(field_, fields.Nested):
            leaves |= leaf_paths(field_.schema, f"{path}.")
        else:
            leaves.add(path)
    return leaves


def template_sources(content: bytes) -> Iterator[str]:
    """The Jinja source of the body, headers and footers, as docxtpl will render them."""
    template = DocxTemplate(io.BytesIO(content))
    template.init_docx()
    yield template.patch_xml(template.get_xml())
    for rel in template.docx._part.rels.values():
        if rel.reltype in (_HEADER, _FOOTER) and not rel.is_external:
            yield template.patch_xml(template.get_part_xml(rel.target_part))


class _Collector:
    """Walks a Jinja AST and records every variable path it reads, with loop variables resolved."""

    def __init__(self) -> None:
        self.paths: set[str] = set()

    def expr_path(self, node: nodes.Node, scope: Mapping[str, str]) -> str | None:
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            return None if node.name in _JINJA_GLOBALS else node.name
        if isinstance(node, nodes.Getattr):
            base = self.expr_path(node.node, scope)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, nodes.Getitem):
            base = self.expr_path(node.node, scope)
            if base is None:
                return None
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return f"{base}.{node.arg.value}"
            self.visit(node.arg, scope)
            return f"{base}[]"
        if isinstance(node, nodes.Filter) and node.node is not None:
            self.visit_args(node, scope)
            return self.expr_path(node.node, scope)
        return None

    def visit_args(self, node: nodes.Filter | nodes.Test | nodes.Call, scope: Mapping[str, str]) -> None:
        for arg in list(node.args) + [kw.value for kw in node.kwargs]:
            self.visit(arg, scope)

    def visit(self, node: nodes.Node, scope: Mapping[str, str]) -> None:
        if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Filter)):
            path = self.expr_path(node, scope)
            if path:
                self.paths.add(path)
            if not isinstance(node, nodes.Name) and path is None:
                for child in node.iter_child_nodes():
                    self.visit(child, scope)
            return
        if isinstance(node, nodes.For):
            iterable = self.expr_path(node.iter, scope)
            if iterable:
                self.paths.add(iterable)
            else:
                self.visit(node.iter, scope)
            inner = dict(scope)
            for target in _names(node.target):
                inner[target] = f"{iterable}[]" if iterable else "__local__"
            for child in list(node.body) + list(node.else_) + ([node.test] if node.test else []):
                self.visit(child, inner)
            return
        if isinstance(node, nodes.Assign):
            value = self.expr_path(node.node, scope)
            self.visit(node.node, scope)
            for target in _names(node.target):
                scope[target] = value or "__local__"  # type: ignore[index]
            return
        for child in node.iter_child_nodes():
            self.visit(child, scope)


def _names(target: nodes.Node) -> Iterable[str]:
    if isinstance(target, nodes.Name):
        yield target.name
    elif isinstance(target, nodes.Tuple):
        for item in target.items:
            yield from _names(item)


def _context_of_error(source: str, lineno: int | None) -> str:
    if not lineno:
        return ""
    lines = source.splitlines()[max(lineno - 2, 0) : lineno + 1]
    text = " ".join(re.sub(r"<[^>]+>", "", line) for line in lines)
    return re.sub(r"\s+", " ", text).strip()[:160]


def check_template(spec: FormSpec, templates_dir: Path, derived: Iterable[str] = ()) -> TemplateReport:
    path = templates_dir / spec.template
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return TemplateReport(spec.id, spec.template, syntax_errors=(f"模板文件不存在 / template file missing: {path}",))
    return _check_content(spec, content, derived)


def _check_content(spec: FormSpec, content: bytes, derived: Iterable[str] = ()) -> TemplateReport:
    try:
        sources = list(template_sources(content))
    except Exception as exc:  # noqa: BLE001 - any failure to open the DOCX is reported, not raised
        return TemplateReport(spec.id, spec.template, syntax_errors=(f"无法打开模板 / cannot open template: {type(exc).__name__}",))

    env = make_environment()
    collector = _Collector()
    errors: list[str] = []
    for source in sources:
        try:
            collector.visit(env.parse(source), {})
        except jinja2.TemplateSyntaxError as exc:
            errors.append(f"语法错误 / syntax error: {exc.message} — 附近文字 / near: 「{_context_of_error(source, exc.lineno)}」")

    defined = schema_paths(spec.schema)
    allowed_roots = set(RESERVED_CONTEXT) | {"qr"} | set(derived)
    used = {p for p in collector.paths if p != "__local__" and not p.startswith("__local__")}
    undefined = sorted(
        p for p in used if p not in defined and p.split(".")[0].split("[")[0] not in allowed_roots
    )
    covered = {p for p in used if p in defined}

    def is_used(leaf: str) -> bool:
        return any(leaf == p or leaf.startswith(p + ".") or leaf.startswith(p + "[]") for p in covered)

    unused = sorted(leaf for leaf in leaf_paths(spec.schema) if not is_used(leaf) and leaf not in spec.unprinted)
    text = "".join(re.sub(r"<[^>]+>", "", source) for source in sources)
    parties = [*spec.signers, *([spec.seal] if spec.seal else [])]
    missing = [party.label for party in parties if party.label not in text]
    unmarked = _unmarked(content, [party.label for party in parties if party.label not in missing])
    return TemplateReport(spec.id, spec.template, tuple(errors), tuple(undefined), tuple(unused), tuple(missing), tuple(sorted(used)),
                          unmarked_labels=tuple(unmarked))


def _unmarked(docx: bytes, labels: list[str]) -> list[str]:
    """The labels the renderer cannot bookmark for the signing stage (see label_marks.py); a label
    the template already carries bookmarks for counts as marked."""
    marked = mark_labels(slim_docx(docx), labels)
    with zipfile.ZipFile(io.BytesIO(marked)) as archive:
        document = archive.read("word/document.xml").decode("utf-8", "replace")
    return [label for label in labels if f'w:name="{bookmark_names(label)[0]}"' not in document]


def derived_names(spec: FormSpec, data: Mapping[str, Any], today: dt.date) -> set[str]:
    """Names the form's ``derive`` adds to the context, found by running it on (sample) data."""
    if spec.derive is None:
        return set()
    return set(spec.derive(spec.schema().load(data), today))


def check_form(spec: FormSpec, templates_dir: Path) -> TemplateReport:
    """check_template, with the names ``derive`` adds found from the form's sample."""
    try:
        derived = derived_names(spec, sample(spec), dt.date.today())
    except Exception:  # noqa: BLE001 - a sample that fails to load only costs the derived names
        derived = set()
    return check_template(spec, templates_dir, derived)


# --- PLACEHOLDER until the template-guard branch merges: its check_template_bytes replaces what follows. ---

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _lines(content: bytes) -> list[str]:
    """The text of every paragraph of the body, in order: the "lines" a problem is located by (from 1)."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        root = etree.fromstring(archive.read("word/document.xml"), etree.XMLParser(resolve_entities=False, no_network=True))
    return ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in root.iter(f"{_W}p")]


def _where(lines: list[str], needle: str) -> str:
    for number, line in enumerate(lines, 1):
        if needle and needle in line:
            return f"第 {number} 行 / line {number}"
    return "正文 / body"


def _sentences(lines: list[str]) -> list[tuple[int, str]]:
    """The fixed sentences (no placeholder in them) of a template, with their line."""
    found = []
    for number, line in enumerate(lines, 1):
        for sentence in re.findall(r"[^。；！？]+[。；！？]", line):
            sentence = sentence.strip()
            if len(sentence) >= 8 and not _JINJA_TAG.search(sentence):
                found.append((number, sentence))
    return found


_JINJA_TAG = re.compile(r"\{[{%#]|[}%#]\}")


def check_template_bytes(spec: FormSpec, data: bytes) -> TemplateReport:
    """An uploaded template checked as ``check_form`` checks the built-in one, every finding located by line; the
    built-in template's fixed sentences missing from it are warnings. ``data`` has passed ``inspect_docx``."""
    from ..config import PROJECT_ROOT

    try:
        derived = derived_names(spec, sample(spec), dt.date.today())
    except Exception:  # noqa: BLE001 - a sample that fails to load only costs the derived names
        derived = set()
    report = _check_content(spec, data, derived)
    try:
        lines = _lines(data)
    except Exception:  # noqa: BLE001 - _check_content has reported an unreadable file
        lines = []
    problems: list[Problem] = []
    for error in report.syntax_errors:
        near = re.search(r"「(.*)」", error)
        excerpt = near.group(1) if near else ""
        problems.append(Problem("syntax", "error", _where(lines, excerpt[:12]), excerpt, error.split(" / ")[0], error))
    for path in report.undefined:
        leaf = path.split(".")[-1].replace("[]", "")
        problems.append(Problem("undefined", "error", _where(lines, leaf), path, f"未定义的占位符 {path}",
                                f"placeholder not in the form's schema: {path}"))
    for path in report.unused:
        problems.append(Problem("unused", "error", "—", path, f"表单字段 {path} 在模板中未使用",
                                f"the form's field {path} is never printed"))
    for label in report.missing_labels:
        problems.append(Problem("missing_label", "error", "—", label, f"找不到签章位置文字「{label}」",
                                f"the seal or signature label is missing: {label}"))
    try:
        builtin = _lines((PROJECT_ROOT / "templates" / spec.template).read_bytes())
    except OSError:
        builtin = []
    text = "".join(lines)
    for number, sentence in _sentences(builtin):
        if sentence not in text:
            problems.append(Problem("removed_sentence", "warning", f"内置模板第 {number} 行 / built-in line {number}", sentence,
                                    f"删去了原文的固定语句：「{sentence}」", f"a fixed sentence of the original was removed: {sentence}"))
    return dataclasses.replace(report, problems=tuple(problems))
