"""A form's fields as a flat list: each field's data path (``applicant.name``, ``items.#.name`` for a field of a
list of groups), its Chinese label from the schema (``申请人·姓名``), its kind, whether it is required, and its
description. Batch columns and the template field sheet are made from it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from marshmallow import Schema, fields

from .spec import FormSpec


@dataclass(frozen=True)
class Column:
    path: str  # the data path; ``list.#.field`` for a field of a list of groups
    label: str  # 申请人·姓名
    kind: str  # text | lines | yesno | date | number
    required: bool
    description: str = ""

    def header(self, index: int | None = None) -> str:
        path, label = self.path, self.label
        if index is not None:
            path, label = path.replace("#", str(index)), label.replace("#", str(index))
        return f"{label}（{path}）"


def _kind(f: fields.Field) -> str:
    if isinstance(f, fields.Boolean):
        return "yesno"
    if isinstance(f, fields.Date):
        return "date"
    if isinstance(f, fields.Integer):
        return "number"
    return "text"


def _walk(schema: Schema, path: str, label: str) -> Iterator[Column]:
    for name, f in schema.fields.items():
        meta = f.metadata or {}
        title = meta.get("title", name)
        child_path, child_label = f"{path}{name}", f"{label}{title}"
        description = meta.get("description", "")
        if isinstance(f, fields.Nested):
            nested = f.schema if isinstance(f.schema, Schema) else f.schema()
            yield from _walk(nested, f"{child_path}.", f"{child_label}·")
        elif isinstance(f, fields.List) and isinstance(f.inner, fields.Nested):
            inner = f.inner.schema if isinstance(f.inner.schema, Schema) else f.inner.schema()
            yield from _walk(inner, f"{child_path}.#.", f"{child_label}（第#项）·")
        elif isinstance(f, fields.List):
            yield Column(child_path, child_label, "lines", bool(f.required), description or "每行一项 / one entry per line")
        else:
            yield Column(child_path, child_label, _kind(f), bool(f.required), description)


def columns(spec: FormSpec) -> list[Column]:
    return list(_walk(spec.schema(), "", ""))
