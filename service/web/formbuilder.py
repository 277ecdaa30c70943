"""A form's page, built from its marshmallow schema, and the page's post turned back into the form's data.

Field names are the data's paths (``applicant.name``, ``items.0``, ``items.0.basis``) — the same paths
the validation errors use, so each error lands beside its field. Rows of lists are added and removed
by the server (``_action=add:items`` / ``remove:items.2``), so the page works without JavaScript; what
the clerk typed is kept exactly as typed, valid or not, until the data is issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, fields, validate
from werkzeug.datastructures import MultiDict


@dataclass
class Field:
    path: str
    label: str
    kind: str  # text | textarea | date | tel | number | select | yesno | group | list
    required: bool
    description: str = ""
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: list[str] = field(default_factory=list)
    choice_labels: dict[str, str] = field(default_factory=dict)  # what a select shows for a coded choice (proof → 证明事项)
    children: list[Field] = field(default_factory=list)  # group: its fields; list: one template row
    min_rows: int = 0
    max_rows: int = 50


def _validator(f: fields.Field, kind: type) -> Any:
    validators = f.validators if isinstance(f.validators, list) else [f.validators] if f.validators else []
    return next((v for v in validators if isinstance(v, kind)), None)


def describe(f: fields.Field, path: str, name: str) -> Field:
    meta = f.metadata or {}
    label = meta.get("title", name)
    common = {"path": path, "label": label, "required": bool(f.required), "description": meta.get("description", "")}
    if isinstance(f, fields.Nested):
        schema = f.schema if isinstance(f.schema, Schema) else f.schema()
        children = [describe(child, f"{path}.{key}", key) for key, child in schema.fields.items()]
        return Field(kind="group", children=children, **common)
    if isinstance(f, fields.List):
        length = _validator(f, validate.Length)
        row = describe(f.inner, f"{path}.#", "")
        row.label = row.label or label
        return Field(kind="list", children=[row], min_rows=(length.min or 0) if length else 0,
                     max_rows=(length.max or 50) if length else 50, **common)
    if isinstance(f, fields.Boolean):
        return Field(kind="yesno", **common)
    if isinstance(f, fields.Date):
        return Field(kind="date", **common)
    if isinstance(f, fields.Integer):
        bounds = _validator(f, validate.Range)
        return Field(kind="number", minimum=bounds.min if bounds else None, maximum=bounds.max if bounds else None, **common)
    one_of = _validator(f, validate.OneOf)
    if one_of is not None:
        return Field(kind="select", choices=list(one_of.choices), **common)
    length = _validator(f, validate.Length)
    kind = "textarea" if meta.get("x-multiline") else "tel" if type(f).__name__ == "_Phone" else "text"
    return Field(kind=kind, max_length=length.max if length else None, **common)


def form_fields(schema: type[Schema]) -> list[Field]:
    return [describe(f, name, name) for name, f in schema().fields.items()]


# --- the page's values ------------------------------------------------------------------------------


def rows_of(values: Mapping[str, Any], path: str) -> int:
    """How many rows a list has in ``values`` (a flat mapping path → text)."""
    prefix = f"{path}."
    indices = {int(key[len(prefix):].split(".")[0]) for key in values if key.startswith(prefix) and key[len(prefix):].split(".")[0].isdigit()}
    return max(indices) + 1 if indices else 0


def flatten(data: Any, path: str = "") -> dict[str, str]:
    """Data (a sample, or what a document was issued with) → the page's flat values."""
    flat: dict[str, str] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            flat.update(flatten(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            flat.update(flatten(value, f"{path}.{index}"))
    elif isinstance(data, bool):
        flat[path] = "true" if data else "false"
    elif data is not None:
        flat[path] = str(data)
    return flat


def page_values(form: MultiDict) -> dict[str, str]:
    return {key: value for key, value in form.items() if not key.startswith("_") and key != "csrf_token"}


def apply_action(values: dict[str, str], action: str) -> dict[str, str]:
    """``add:items`` appends an empty row; ``remove:items.2`` removes that row and renumbers the rest."""
    verb, _, path = action.partition(":")
    if verb == "add":
        values = dict(values)
        values[f"{path}.{rows_of(values, path)}"] = values.get(f"{path}.{rows_of(values, path)}", "")
        return values
    if verb == "remove":
        list_path, _, index = path.rpartition(".")
        if not index.isdigit():
            return values
        removed, kept = int(index), {}
        prefix = f"{list_path}."
        for key, value in values.items():
            if key.startswith(prefix) and key[len(prefix):].split(".")[0].isdigit():
                rest = key[len(prefix):].split(".", 1)
                row = int(rest[0])
                if row == removed:
                    continue
                new_row = row - 1 if row > removed else row
                key = f"{list_path}.{new_row}" + (f".{rest[1]}" if len(rest) > 1 else "")
            kept[key] = value
        return kept
    return values


def _value(f: Field, values: Mapping[str, str], path: str) -> Any:
    if f.kind == "group":
        group = {child.path.rsplit(".", 1)[1]: _value(child, values, f"{path}.{child.path.rsplit('.', 1)[1]}") for child in f.children}
        if not f.required and all(v in (None, "", []) for v in group.values()):
            return None
        return {k: v for k, v in group.items() if v is not None}
    if f.kind == "list":
        row = f.children[0]
        items = [_value(row, values, f"{path}.{index}") for index in range(rows_of(values, path))]
        return [item for item in items if item not in (None, "", {})]
    raw = values.get(path, "")
    if f.kind == "yesno":
        return {"true": True, "false": False}.get(raw)
    if f.kind == "number":
        return int(raw) if raw.strip().lstrip("-").isdigit() else (raw.strip() or None)
    if f.kind in ("date", "select"):
        return raw or None
    return raw if (raw or f.required) else None


def to_data(fields_: list[Field], values: Mapping[str, str]) -> dict[str, Any]:
    """The page's flat values → the form's data, for its schema to validate. Empty optional fields
    are left out (the schema gives their defaults); empty rows are dropped."""
    data: dict[str, Any] = {}
    for f in fields_:
        value = _value(f, values, f.path)
        if value is not None:
            data[f.path] = value
    return data


def row_count(f: Field, values: Mapping[str, str]) -> int:
    return max(rows_of(values, f.path), f.min_rows, 1)


def label_for(fields_: list[Field], path: str) -> str:
    """The label a person sees for a data path (``items.1`` → 承诺的证明事项（第2项）), for error summaries."""
    parts = path.split(".")
    current, labels = fields_, []
    for part in parts:
        if part.isdigit() and labels:
            labels[-1] = f"{labels[-1]}（第{int(part) + 1}项）"
            continue
        match = next((f for f in current if f.path.rsplit(".", 1)[-1] == part), None)
        if match is None:
            break
        labels.append(match.label)
        current = match.children[0].children if match.kind == "list" and match.children[0].kind == "group" else match.children
    return " · ".join(labels) or path


def labelled_fields(schema: type[Schema], labels: Mapping[str, Mapping[str, str]]) -> list[Field]:
    """The schema's fields, coded choices shown by their labels (``labels`` by data path: code → label)."""

    def label(f: Field) -> None:
        if f.path in labels:
            f.choice_labels = dict(labels[f.path])
        for child in f.children:
            label(child)

    fields = form_fields(schema)
    for f in fields:
        label(f)
    return fields
