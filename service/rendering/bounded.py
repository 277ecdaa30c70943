"""Rendering an untrusted template (an agency's upload, for its preview) in a worker process, bounded.

The sandbox (environment.make_environment) keeps a template from reaching anything but its data; it
does not stop a template that loops for a long time or builds a huge document. Here docxtpl renders
in a worker process with a time limit (the worker is killed and replaced when it is exceeded), an
address-space limit, and a limit on the size of the document made, counted both as the DOCX and
as its inflated parts (a DOCX of repeated text compresses to nothing, LibreOffice would get it all).
The package is gated (docx_guard.inspect_docx) in the worker before docxtpl opens it.

One worker serves every preview; requests wait for it in order. The service's own process never
opens the upload with python-docx.
"""

from __future__ import annotations

import io
import multiprocessing
import resource
import threading
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pebble import ProcessExpired, ProcessPool

from ..errors import TemplateError, TemplateRenderLimit, UnsafeTemplate

MB = 1024 * 1024
WORKER_MEMORY_MB = 1024
_pool: ProcessPool | None = None
_pool_lock = threading.Lock()


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import docxtpl  # noqa: F401 - imported once per worker, not on its first template


def _pool_for_previews() -> ProcessPool:
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.active:
            _pool = ProcessPool(max_workers=1, max_tasks=100, initializer=_limit_memory, initargs=[WORKER_MEMORY_MB],
                                context=multiprocessing.get_context("forkserver"))
        return _pool


def stop() -> None:
    """Stops the preview worker (tests, shutdown); the next render starts another."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.stop()
            _pool.join(timeout=10)
            _pool = None


def render_bounded(template_bytes: bytes, context: dict[str, Any], *, timeout: float = 10, max_output_bytes: int = 20 * MB,
                   qr_png: bytes | None = None, labels: Iterable[str] = ()) -> bytes:
    """The DOCX docxtpl makes of ``template_bytes`` with ``context`` (plain data: it is pickled to the
    worker), as DocxRenderer's docxtpl path makes it: slimmed, ``labels`` bookmarked for the signing
    stage, ``qr_png`` shown as ``qr`` (an empty string if None).

    Raises UnsafeTemplate (the package is refused by docx_guard), TemplateError (a syntax error, an
    undefined placeholder, or ``template_unsafe``: the sandbox refused an attribute the template reached
    for), TemplateRenderLimit (more than ``timeout`` seconds, the worker's memory, a document over
    ``max_output_bytes`` as a DOCX or inflated, or the sandbox's bounds on range, ``*`` and ``**``)."""
    future = _pool_for_previews().schedule(_render, args=[template_bytes, context, max_output_bytes, qr_png, tuple(labels)], timeout=timeout)
    try:
        outcome = future.result()
    except FutureTimeout:
        raise TemplateRenderLimit(f"模板渲染超过 {timeout:g} 秒，已停止", f"rendering the template took longer than {timeout:g} s and was stopped",
                                  code="template_render_timeout") from None
    except ProcessExpired:
        raise TemplateRenderLimit("模板渲染占用内存过多，已停止", "rendering the template used too much memory and was stopped",
                                  code="template_render_memory") from None
    kind, *values = outcome
    if kind == "ok":
        return values[0]
    if kind == "unsafe":
        code, zh, en, part = values
        raise UnsafeTemplate(zh, en, code=code, part=part)
    if kind == "template":
        code, zh, en = values
        raise TemplateError(zh, en, code=code)
    code, zh, en = values
    raise TemplateRenderLimit(zh, en, code=code)


def _render(data: bytes, context: Mapping[str, Any], max_output_bytes: int, qr_png: bytes | None, labels: tuple[str, ...]) -> tuple:
    """Runs in the worker: ``("ok", docx)`` or (kind, code, zh, en …) for the caller to raise."""
    from docxtpl import DocxTemplate, InlineImage
    from jinja2 import TemplateError as JinjaError
    from jinja2.sandbox import SecurityError

    from .docx_fast import QR_WIDTH
    from .docx_guard import inspect_docx
    from .environment import make_environment
    from .label_marks import mark_labels
    from .slim import slim_docx

    try:
        inspect_docx(data)
        document = DocxTemplate(io.BytesIO(mark_labels(slim_docx(data), labels)))
        full = dict(context)
        full["qr"] = InlineImage(document, io.BytesIO(qr_png), width=QR_WIDTH) if qr_png else ""
        document.render(full, jinja_env=make_environment(), autoescape=True)
        out = io.BytesIO()
        document.save(out)
    except UnsafeTemplate as exc:
        return ("unsafe", exc.code, exc.zh, exc.en, exc.part)
    except MemoryError:
        return ("limit", "template_render_memory", "模板渲染占用内存过多，已停止", "rendering the template used too much memory and was stopped")
    except OverflowError as exc:  # the sandbox's bounds on range, repetition and powers
        return ("limit", "template_render_limit", "模板超出渲染限制（循环或数值过大），已停止", f"the template goes beyond the rendering limits: {exc}")
    except SecurityError as exc:
        return ("template", "template_unsafe", "模板试图访问数据以外的内容或超出限制，已拒绝",
                f"the template reaches beyond its data or the sandbox's limits: {exc}")
    except JinjaError as exc:
        return ("template", "template_error", "表单模板有误，无法生成文书", f"the template cannot be rendered: {exc}")
    except Exception as exc:  # noqa: BLE001 - whatever docxtpl raises on a template it cannot handle
        return ("template", "template_error", "表单模板无法处理", f"the template cannot be processed: {type(exc).__name__}")
    docx = out.getvalue()
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    if max(len(docx), inflated) > max_output_bytes:
        size = max(len(docx), inflated) // 1024
        return ("limit", "template_render_too_large", f"模板生成的文书过大（{size} KB，上限 {max_output_bytes // 1024} KB）",
                f"the template makes too large a document ({size} KB; the limit is {max_output_bytes // 1024} KB)")
    return ("ok", docx)
