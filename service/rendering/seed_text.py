"""The fixed text of each form, as the seeds word it (../shared/FORMS.md), read from its built-in template.

An agency may add sentences to its own template; removing or rewording one of the form's fixed
sentences is allowed too, but the template check warns about each, and a supervisor must acknowledge
the warnings before publishing. The fixed sentences are what the built-in template shows outside its
placeholders: every paragraph (or table cell paragraph) without a Jinja tag, and every stretch of text
between the tags of one that has them, longer than ``MIN_CHARS`` once whitespace is removed.

A sentence counts as kept if it appears anywhere in the upload's text (whitespace ignored), so moving
it, splitting its paragraph or restyling it is no removal.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .docx_text import anchors, normalise, stories

BUILTIN_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
MIN_CHARS = 7
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


@dataclass(frozen=True)
class FixedSentence:
    text: str  # as shown in the built-in template
    location: str  # where the built-in template shows it


def fixed_sentences(template: str, templates_dir: Path = BUILTIN_TEMPLATES) -> tuple[FixedSentence, ...]:
    """The fixed sentences of the built-in template named ``template`` (none if there is no such file)."""
    path = templates_dir / template
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ()
    return _fixed_sentences(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _fixed_sentences(path: str, _mtime_ns: int, _size: int) -> tuple[FixedSentence, ...]:
    found: dict[str, FixedSentence] = {}
    for story, xml in stories(Path(path).read_bytes()):
        for anchor in anchors(xml, story):
            if anchor.kind != "p":
                continue
            for fragment in _TAG.split(anchor.text):
                fragment = " ".join(fragment.split())
                if len(normalise(fragment)) >= MIN_CHARS:
                    found.setdefault(normalise(fragment), FixedSentence(fragment, anchor.location))
    return tuple(found.values())


def removed_sentences(template: str, docx: bytes, templates_dir: Path = BUILTIN_TEMPLATES) -> list[FixedSentence]:
    """The fixed sentences of the built-in ``template`` that ``docx`` (a package docx_guard let through)
    no longer shows, in the built-in template's order."""
    fixed = fixed_sentences(template, templates_dir)
    if not fixed:
        return []
    shown = "".join(normalise(anchor.text) for story, xml in stories(docx) for anchor in anchors(xml, story) if anchor.kind == "p")
    return [sentence for sentence in fixed if normalise(sentence.text) not in shown]
