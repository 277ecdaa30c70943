"""The Jinja environment every template renders in: Jinja's immutable sandbox with ``*`` and ``**`` bounded, every
string written literally (escaped for XML, and ``{ } % _`` as character references, so that neither Jinja nor
docxtpl's post-processing can reinterpret what a user typed), and the filters the forms use (``cn_date``,
``cn_number``). ``docx_render`` renders in it in this process, ``bounded`` in its worker."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

_CHAR_REFS = str.maketrans({"{": "&#123;", "}": "&#125;", "%": "&#37;", "_": "&#95;"})
CN_DIGITS = "〇一二三四五六七八九"


def _literal(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(str(escape(value)).translate(_CHAR_REFS))
    return value


def cn_date(value: dt.date | None) -> str:
    """2021年3月16日, as dates are written on official documents."""
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


def cn_number(value: int) -> str:
    """1 → 一, 12 → 十二: for 一、二、… and （一）（二）… numbering up to 99."""
    if value < 10:
        return CN_DIGITS[value]
    tens, ones = divmod(value, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


MAX_REPEAT = 100_000  # characters or items ``*`` may make of one string or list
MAX_EXPONENT = 1_000
MAX_INT_BITS = 10_000


class SandboxedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with ``*`` and ``**`` bounded as its ``range`` is: ``'x' * 10**10`` or
    ``9**9**9`` would otherwise exhaust memory or time (intercepting them also stops the compiler
    from computing such constants while compiling)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and isinstance(right, (int, float)) and (
            abs(right) > MAX_EXPONENT or (ints and right > 0 and left.bit_length() * right > MAX_INT_BITS)
        ):
            raise OverflowError(f"a power this large is beyond what the sandbox allows (exponent {right})")
        if operator == "*":
            if ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise OverflowError("a number this large is beyond what the sandbox allows")
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(times, int) and len(sequence) * times > MAX_REPEAT:
                    raise OverflowError(f"repeating a value {times} times makes more than the sandbox allows ({MAX_REPEAT})")
        return super().call_binop(context, operator, left, right)


class _CachingEnvironment(SandboxedEnvironment):
    """docxtpl compiles a template's XML on every render; the XML of a template file does not change,
    so each compiled template is kept (keyed by its source) and reused."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[str, jinja2.Template] = {}
        self._compiled_lock = threading.Lock()

    def from_string(self, source, globals=None, template_class=None):  # type: ignore[no-untyped-def, override]
        if globals or template_class or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        with self._compiled_lock:
            compiled = self._compiled.get(source)
        if compiled is None:
            compiled = super().from_string(source)
            with self._compiled_lock:
                if len(self._compiled) > 256:
                    self._compiled.clear()
                self._compiled[source] = compiled
        return compiled


def make_environment(*, caching: bool = False) -> SandboxedEnvironment:
    """The sandboxed environment every template is rendered in (see the module's docstring)."""
    options: dict[str, Any] = {"autoescape": True, "finalize": _literal, "undefined": jinja2.StrictUndefined}
    env = _CachingEnvironment(**options) if caching else SandboxedEnvironment(**options)
    env.filters["cn_date"] = cn_date
    env.filters["cn_number"] = cn_number
    return env
