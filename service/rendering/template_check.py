"""Checks a DOCX template against its form's schema, as an agency that edited it in Word would want.

``check_template_bytes`` checks an upload; ``check_form`` a template of the templates folder. The
report lists ``problems``, each with where it is (第 12 段 / paragraph 12, 表格 2 第 3 行 / table 2 row 3,
页眉 / header), the visible text around it, and a message in Chinese and English. Errors (the
template cannot be published):

- unsafe: a package docx_guard refuses (zip bomb, XXE, …; ``code`` says which), or an expression
  reaching for an attribute starting with ``_`` (``{{ ''.__class__ }}``), which the sandbox would
  refuse while rendering anyway;
- active_content: macros, ActiveX, embedded objects, external links, fetching field codes (docx_guard);
- syntax: a Jinja syntax error;
- undefined: a placeholder the schema does not define (``{{ applicant.nmae }}``, with "did you mean
  applicant.name"), loop variables resolved;
- required_missing: a required field of the schema (``required=True``, nested ones of required groups
  too) that the template no longer shows;
- label_missing / label_misspelt: a seal or signature label of the form (行政机关（公章）) that is not
  there, or is there misspelt (行政机关(公章), 行政机关（盖章）): the seal or the signature would have
  nowhere to go.

Warnings (a supervisor acknowledges them before publishing): seed_removed, a fixed sentence of the
built-in template (seed_text.py) that the template no longer shows.

Optional schema fields the template does not show are listed in ``unused`` (the built-in templates
show them all: ``python -m service templates check`` fails on them) but are no problem for an upload.
"""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate
from jinja2 import nodes
from marshmallow import Schema, fields

from ..errors import UnsafeTemplate
from ..forms.jsonschema import sample
from ..forms.spec import RESERVED_CONTEXT, FormSpec
from .docx_guard import inspect_docx
from .environment import make_environment
from .docx_text import ANCHOR, Anchor, anchors, excerpt, normalise
from .label_marks import bookmark_names, mark_labels
from .seed_text import removed_sentences
from .slim import slim_docx

_HEADER = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header"
_FOOTER = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer"
_JINJA_GLOBALS = {"loop", "range", "true", "false", "none", "True", "False", "None", "lipsum", "dict", "cycler", "joiner", "namespace"}


WHOLE_TEMPLATE = "整个模板 / whole template"
_GUARD_ACTIVE = frozenset({"active_content", "external_link", "embedded_object"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template. ``kind``: syntax, undefined, required_missing, label_missing,
    label_misspelt, seed_removed, active_content, unsafe; ``severity``: "error" (cannot be published) or
    "warning" (to be acknowledged); ``code``: docx_guard's code for a refused package, else None."""

    kind: str
    severity: str
    location: str
    excerpt: str
    zh: str
    en: str
    code: str | None = None

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class TemplateReport:
    form: str
    template: str
    syntax_errors: tuple[str, ...] = ()
    undefined: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()  # optional and required fields not shown (required ones are problems too)
    missing_labels: tuple[str, ...] = ()  # seal/signature labels the signing step will not find
    used: tuple[str, ...] = field(default=(), repr=False)
    unmarked_labels: tuple[str, ...] = ()  # present, but split across runs: found by PDFium, more slowly (advice only)
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """No error: the template may be published (once its warnings are acknowledged)."""
        return not any(problem.severity == "error" for problem in self.problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """What a supervisor must acknowledge before publishing."""
        return tuple(problem for problem in self.problems if problem.severity == "warning")


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


def leaf_paths(schema: Schema | type[Schema], prefix: str = "", *, required_only: bool = False) -> set[str]:
    """Every leaf field's path (``applicant.name``, ``items[].name``); with ``required_only``, the leaves a valid
    document always has: required fields, and the required fields of required groups and lists."""
    instance = schema() if isinstance(schema, type) else schema
    leaves: set[str] = set()
    for name, field_ in instance.fields.items():
        if required_only and not field_.required:
            continue
        path = f"{prefix}{name}"
        while isinstance(field_, fields.List):
            field_, path = field_.inner, f"{path}[]"
        if isinstance(field_, fields.Nested):
            leaves |= leaf_paths(field_.schema, f"{path}.", required_only=required_only)
        else:
            leaves.add(path)
    return leaves


def required_paths(schema: Schema | type[Schema]) -> set[str]:
    """The leaves a valid document always has (``leaf_paths`` with ``required_only``)."""
    return leaf_paths(schema, required_only=True)


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
        self.lines: dict[str, set[int]] = defaultdict(set)  # path → the source lines reading it

    @property
    def paths(self) -> set[str]:
        return set(self.lines)

    def add(self, path: str, node: nodes.Node) -> None:
        self.lines[path].add(node.lineno)

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
                self.add(path, node)
            if not isinstance(node, nodes.Name) and path is None:
                for child in node.iter_child_nodes():
                    self.visit(child, scope)
            return
        if isinstance(node, nodes.For):
            iterable = self.expr_path(node.iter, scope)
            if iterable:
                self.add(iterable, node.iter)
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
    text = " ".join(re.sub(r"<[^>]+>|\{#¶\d+#\}", "", line) for line in lines)
    return re.sub(r"\s+", " ", text).strip()[:160]


@dataclass
class _Story:
    """One story's Jinja source, with a marker ``{#¶N#}`` on its own line before the N-th paragraph or
    table row (a Jinja comment: it changes nothing the template means), so that a line number Jinja
    reports leads back to the paragraph or row it came from, even after docxtpl's patching has
    removed the rows and paragraphs of ``{%tr %}`` and ``{%p %}`` tags."""

    source: str
    anchors: list[Anchor]
    _starts: list[int] = field(default_factory=list)  # line number of each marker still in the source
    _marks: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        for number, line in enumerate(self.source.split("\n"), start=1):
            for mark in _MARK.findall(line):
                self._starts.append(number)
                self._marks.append(int(mark))

    def anchor(self, lineno: int | None) -> Anchor | None:
        """The paragraph or row that line ``lineno`` of the source belongs to."""
        at = bisect.bisect_right(self._starts, lineno or 0) - 1
        if at < 0 or not self.anchors:
            return None
        return self.anchors[self._marks[at]] if self._marks[at] < len(self.anchors) else None


_MARK = re.compile(r"\{#¶(\d+)#\}")


def _stories(content: bytes) -> Iterator[_Story]:
    """The body, headers and footers as docxtpl will render them, each with its paragraphs located."""
    template = DocxTemplate(io.BytesIO(content))
    template.init_docx()
    xmls = [("body", template.get_xml())]
    for rel in template.docx._part.rels.values():
        if rel.reltype in (_HEADER, _FOOTER) and not rel.is_external:
            xmls.append(("header" if rel.reltype == _HEADER else "footer", template.get_part_xml(rel.target_part)))
    for story, xml in xmls:
        located = anchors(xml, story)
        if len(ANCHOR.findall(xml)) != len(located):
            located = []  # a prefix other than w: (not Word, not python-docx): no locations, the check still runs
        yield _Story(template.patch_xml(_marked(xml)), located)


def _marked(xml: str) -> str:
    """``xml`` with ``\n{#¶N#}`` before the start tag of the N-th paragraph or table row (see _Story)."""
    pieces = ANCHOR.split(xml)
    starts = ANCHOR.findall(xml)
    return pieces[0] + "".join(f"\n{{#¶{number}#}}{start}{piece}" for number, (start, piece) in enumerate(zip(starts, pieces[1:], strict=True)))


def _where(story: _Story, lineno: int | None, needle: str = "") -> tuple[str, str]:
    anchor = story.anchor(lineno)
    if anchor is None:
        return WHOLE_TEMPLATE, ""
    return anchor.location, excerpt(anchor.text, needle)


def _unsafe_nodes(tree: nodes.Template) -> Iterator[tuple[str, nodes.Node]]:
    """The attribute names starting with ``_`` an expression reaches for: ``x.__class__``, ``x['_y']``, ``x|attr('__y')``."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield node.attr, node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and str(node.arg.value).startswith("_"):
            yield str(node.arg.value), node
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const) \
                and str(node.args[0].value).startswith("_"):
            yield str(node.args[0].value), node


def _suggestion(path: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(path, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _label_near_miss(label: str, located: list[Anchor]) -> tuple[str, Anchor] | None:
    """The text most like ``label`` (brackets of either width, whitespace ignored, a character or two
    different), and where it is; None if nothing comes close."""
    wanted = _brackets(normalise(label))
    letters = set(wanted)
    best: tuple[float, str, Anchor] | None = None
    for anchor in located:
        if anchor.kind != "p":
            continue
        text = anchor.text
        for size in (len(label) - 1, len(label), len(label) + 1, len(label) + 2):
            for start in range(max(len(text) - size + 1, 0)):
                window = text[start:start + size]
                compared = _brackets(normalise(window))
                if sum(1 for c in compared if c in letters) < 0.6 * len(wanted):
                    continue
                ratio = difflib.SequenceMatcher(None, compared, wanted).ratio()
                if ratio >= 0.75 and (best is None or ratio > best[0]):
                    best = (ratio, window.strip(), anchor)
    return (best[1], best[2]) if best else None


def _brackets(text: str) -> str:
    return text.translate(_HALF_WIDTH)


_HALF_WIDTH = str.maketrans("()：:，,", "（）：：，，")


def check_template_bytes(spec: FormSpec, data: bytes, *, derived: Iterable[str] | None = None) -> TemplateReport:
    """The report on ``data`` as a template for ``spec``. Never raises for what is wrong with the
    file: a package docx_guard refuses becomes a report with that one problem (kind "unsafe" or
    "active_content", ``code`` the guard's), so callers show every refusal the same way; call
    ``inspect_docx`` first to refuse such an upload outright. ``derived``: the names the form's
    ``derive`` adds (default: found by running it on the form's sample)."""
    try:
        inspect_docx(data)
    except UnsafeTemplate as exc:
        kind = "active_content" if exc.code in _GUARD_ACTIVE else "unsafe"
        problem = Problem(kind, "error", exc.part or WHOLE_TEMPLATE, "", exc.zh, exc.en, code=exc.code)
        return TemplateReport(spec.id, spec.template, problems=(problem,))
    if derived is None:
        derived = _sample_derived(spec)
    try:
        stories = list(_stories(data))
    except Exception as exc:  # noqa: BLE001 - a package python-docx cannot open is reported, not raised
        problem = Problem("unsafe", "error", WHOLE_TEMPLATE, "", f"无法打开模板（{type(exc).__name__}）",
                          f"the template cannot be opened ({type(exc).__name__})", code="not_docx")
        return TemplateReport(spec.id, spec.template, syntax_errors=(problem.message,), problems=(problem,))

    problems: list[Problem] = []
    env = make_environment()
    collectors: list[tuple[_Story, _Collector]] = []
    syntax_errors: list[str] = []
    for story in stories:
        try:
            tree = env.parse(story.source)
        except jinja2.TemplateSyntaxError as exc:
            location, text = _where(story, exc.lineno)
            syntax_errors.append(f"语法错误 / syntax error: {exc.message} — 附近文字 / near: 「{_context_of_error(story.source, exc.lineno)}」")
            problems.append(Problem("syntax", "error", location, text, f"模板语法错误：{exc.message}", f"template syntax error: {exc.message}"))
            continue
        for name, node in _unsafe_nodes(tree):
            location, text = _where(story, node.lineno, name)
            problems.append(Problem("unsafe", "error", location, text, f"模板试图访问内部属性「{name}」，不予接受",
                                    f"the template reaches for the internal attribute {name!r} and is refused"))
        collector = _Collector()
        collector.visit(tree, {})
        collectors.append((story, collector))

    defined = schema_paths(spec.schema)
    allowed_roots = set(RESERVED_CONTEXT) | {"qr"} | set(derived)
    where: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for story, collector in collectors:
        for path, lines in collector.lines.items():
            if path == "__local__" or path.startswith("__local__"):
                continue
            for lineno in sorted(lines):
                place = _where(story, lineno, path.rsplit(".", 1)[-1])
                if place not in where[path]:
                    where[path].append(place)
    used = set(where)
    undefined = sorted(p for p in used if p not in defined and p.split(".")[0].split("[")[0] not in allowed_roots)
    suggested: set[str] = set()
    for path in undefined:
        close = _suggestion(path, defined | allowed_roots)
        suggested.add(close or "")
        hint_zh, hint_en = (f"，是否应为「{close}」？", f"; did you mean {close}?") if close else ("", "")
        for location, text in where[path]:
            problems.append(Problem("undefined", "error", location, text, f"表单没有字段「{path}」{hint_zh}",
                                    f"the form has no field {path}{hint_en}"))

    covered = {p for p in used if p in defined}

    def is_used(leaf: str) -> bool:
        return any(leaf == p or leaf.startswith((p + ".", p + "[]")) for p in covered)

    unused = sorted(leaf for leaf in leaf_paths(spec.schema) if not is_used(leaf) and leaf not in spec.unprinted)
    for path in sorted(required_paths(spec.schema)):
        # With a syntax error, what the template shows is unknown; a misspelt placeholder's problem names the field already.
        if path in unused and not syntax_errors and path not in suggested:
            problems.append(Problem("required_missing", "error", WHOLE_TEMPLATE, "", f"必填字段「{path}」在模板中没有出现",
                                    f"the required field {path} is not shown anywhere in the template"))

    located = [anchor for story in stories for anchor in story.anchors]
    text = "".join(re.sub(r"<[^>]+>", "", story.source) for story in stories)
    missing = [label for label in spec.labels if label not in text]
    for label in missing:
        near = _label_near_miss(label, located)
        if near:
            found, anchor = near
            problems.append(Problem("label_misspelt", "error", anchor.location, excerpt(anchor.text, found),
                                    f"签章位置文字应为「{label}」，模板中写作「{found}」：印章或签名将无处放置",
                                    f"the seal or signature label should read {label!r}, the template has {found!r}: "
                                    "the seal or signature would have nowhere to go"))
        else:
            problems.append(Problem("label_missing", "error", WHOLE_TEMPLATE, "",
                                    f"模板中没有签章位置文字「{label}」：印章或签名将无处放置",
                                    f"the seal or signature label {label!r} is not in the template: the seal or signature would have nowhere to go"))

    for sentence in removed_sentences(spec.template, data):
        problems.append(Problem("seed_removed", "warning", f"原模板{sentence.location.replace(' / ', ' / built-in template: ', 1)}",
                                excerpt(sentence.text), f"模板删除或改动了规定文字「{excerpt(sentence.text, width=40)}」，请确认",
                                f"the template removed or changed the fixed text {excerpt(sentence.text, width=40)!r}; please confirm"))

    unmarked = _unmarked(data, [label for label in spec.labels if label not in missing])
    return TemplateReport(spec.id, spec.template, tuple(syntax_errors), tuple(undefined), tuple(unused), tuple(missing), tuple(sorted(used)),
                          unmarked_labels=tuple(unmarked), problems=tuple(problems))


def check_template(spec: FormSpec, templates_dir: Path, derived: Iterable[str] = ()) -> TemplateReport:
    """check_template_bytes on the template file of ``spec`` in ``templates_dir``."""
    path = templates_dir / spec.template
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        message = ("模板文件不存在", f"template file missing: {path}")
        problem = Problem("unsafe", "error", WHOLE_TEMPLATE, "", *message, code="not_docx")
        return TemplateReport(spec.id, spec.template, syntax_errors=(f"{message[0]} / {message[1]}",), problems=(problem,))
    return check_template_bytes(spec, content, derived=derived)


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


def _sample_derived(spec: FormSpec) -> set[str]:
    try:
        return derived_names(spec, sample(spec), dt.date.today())
    except Exception:  # noqa: BLE001 - a sample that fails to load only costs the derived names
        return set()


def check_form(spec: FormSpec, templates_dir: Path) -> TemplateReport:
    """check_template, with the names ``derive`` adds found from the form's sample."""
    return check_template(spec, templates_dir, _sample_derived(spec))
