"""Validated data → DOCX, with docxtpl's template syntax (rendered by ``docx_fast``, or docxtpl itself
for the templates that module does not support).

Everything a user typed is rendered literally: the Jinja environment escapes every string for XML
and additionally writes ``{ } % _`` as character references, so neither Jinja nor docxtpl's own
post-processing (which rewrites ``{_{`` and friends) can reinterpret it. Newlines become line
breaks and tabs become tabs (docxtpl's listing pass).

A template is untrusted input (agencies upload their own): every template, built-in or not and on
either rendering path, runs in Jinja's immutable sandbox. It reads the data and nothing else: an
attribute starting with ``_`` (``''.__class__``) or a mutating method raises
``jinja2.sandbox.SecurityError``; a ``range`` over 100,000 items, or a ``*`` or ``**`` making a huge
value, raises OverflowError; ``DocxRenderer.render`` reports either as a TemplateError
(``template_unsafe``). Time and memory are bounded only by a worker process: see
``bounded.render_bounded``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate, InlineImage
from jinja2.sandbox import SecurityError

from ..errors import TemplateError
from .bounded import render_bounded
from .docx_fast import QR_WIDTH, FastTemplate, Unsupported
from .environment import make_environment
from .label_marks import mark_labels
from .slim import slim_docx

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class TemplateSource:
    """An agency's own version of a built-in template: the SHA-256 of its bytes, which the renderer caches it by,
    and how to read the bytes, called only when they are not cached yet."""

    sha256: str
    load: Callable[[], bytes]


SOURCES_KEPT = 32  # agency versions kept in memory, least recently used dropped first


class DocxRenderer:
    """Renders the form templates found in ``templates_dir``; keeps each template's bytes in memory,
    slimmed (see ``slim.py``) so that neither python-docx nor LibreOffice parses Word's style gallery.

    Templates are rendered by ``docx_fast`` where it supports them; ``fast=False`` renders every one
    with docxtpl itself, the reference the fast path is tested against.

    An agency's own version of a template (``TemplateSource``) is untrusted: docxtpl renders it in the bounded
    worker (``bounded.py``), with the built-in template's labels; its bytes are kept by their SHA-256, so a new
    version is a new entry."""

    def __init__(self, templates_dir: Path, *, fast: bool = True, labels: Mapping[str, Iterable[str]] | None = None) -> None:
        """``labels``: by template file name, the signature labels to mark for the signing stage
        (see ``label_marks.py``)."""
        self.templates_dir = templates_dir
        self.fast = fast
        self.labels = {name: tuple(values) for name, values in (labels or {}).items()}
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._sources: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._prepared: dict[str, tuple[bytes, FastTemplate | None]] = {}
        self._prepare_lock = threading.Lock()
        self._env = make_environment(caching=True)

    def template_bytes(self, name: str) -> bytes:
        """The built-in template ``name`` as rendered: slimmed, its labels marked. Raises TemplateError."""
        path = self.templates_dir / name
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError as exc:
            raise TemplateError("表单模板文件缺失", f"the template {name} is missing") from exc
        with self._lock:
            cached = self._cache.get(name)
            if cached and cached[0] == mtime:
                return cached[1]
            data = mark_labels(slim_docx(path.read_bytes()), self.labels.get(name, ()))
            self._cache[name] = (mtime, data)
            return data

    def _source_raw(self, name: str, source: TemplateSource) -> bytes:
        """The agency's version as uploaded, checked against its SHA-256 when first read, then kept. Raises TemplateError."""
        key = f"{name}@{source.sha256}"
        with self._lock:
            raw = self._sources.get(key)
            if raw is not None:
                self._sources.move_to_end(key)
                return raw
        raw = source.load()
        if hashlib.sha256(raw).hexdigest() != source.sha256:
            raise TemplateError("机关模板内容与登记的哈希值不符", f"the agency's version of {name} does not match its SHA-256")
        with self._lock:
            self._sources[key] = raw
            while len(self._sources) > SOURCES_KEPT:
                self._sources.popitem(last=False)
        return raw

    def fast_template(self, name: str) -> FastTemplate | None:
        """The built-in template prepared for ``docx_fast``, or None if only docxtpl renders it: decided once
        per version of the file. Raises jinja2.TemplateError for a template with a syntax error."""
        data = self.template_bytes(name)
        with self._prepare_lock:
            prepared = self._prepared.get(name)
            if prepared is None or prepared[0] is not data:
                try:
                    fast: FastTemplate | None = FastTemplate(data, self._env)
                except jinja2.TemplateError:
                    raise
                except Exception as exc:  # noqa: BLE001 - docxtpl then renders it, or reports what is wrong
                    log.info("template %s is rendered by docxtpl: %s", name, exc if isinstance(exc, Unsupported) else repr(exc))
                    fast = None
                prepared = self._prepared[name] = (data, fast)
            return prepared[1]

    def render(self, template: str, context: dict[str, Any], qr_png: bytes | None, source: TemplateSource | None = None) -> bytes:
        """Renders ``template`` (or ``source``, the agency's version of it) with ``context`` (and the QR image as
        ``qr``). An agency's version is untrusted input: it renders in the bounded worker (``bounded.py``), with a
        time, memory and size limit. Raises TemplateError, and for an agency's version TemplateRenderLimit and
        UnsafeTemplate."""
        if source is not None:
            return render_bounded(self._source_raw(template, source), context, qr_png=qr_png, labels=self.labels.get(template, ()))
        try:
            fast = self.fast_template(template) if self.fast else None
            if fast is not None:
                return fast.render(context, qr_png)
            document = DocxTemplate(io.BytesIO(self.template_bytes(template)))
            full = dict(context)
            full["qr"] = InlineImage(document, io.BytesIO(qr_png), width=QR_WIDTH) if qr_png else ""
            document.render(full, jinja_env=self._env, autoescape=True)
            out = io.BytesIO()
            document.save(out)
            return out.getvalue()
        except TemplateError:
            raise
        except (SecurityError, OverflowError) as exc:
            raise TemplateError("表单模板试图访问数据以外的内容或超出限制，已拒绝",
                                f"the template {template} reaches beyond its data or the sandbox's limits: {exc}",
                                code="template_unsafe") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError("表单模板有误，无法生成文书", f"the template {template} cannot be rendered: {exc}") from exc
        except Exception as exc:
            raise TemplateError("表单模板无法处理", f"the template {template} cannot be processed: {type(exc).__name__}") from exc

