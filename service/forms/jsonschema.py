"""A form's marshmallow schema as a self-contained JSON Schema (nested blocks inlined), via apispec."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from ..config import PROJECT_ROOT
from .spec import FormSpec

SAMPLES_DIR = PROJECT_ROOT / "samples"


def _converter():  # type: ignore[no-untyped-def]
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)
    APISpec(title="forms", version="1", openapi_version="3.1.0", plugins=[plugin])
    return plugin.converter


@lru_cache(maxsize=None)
def json_schema(spec: FormSpec) -> dict[str, Any]:
    schema = _converter().schema2jsonschema(spec.schema())
    schema.update({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": spec.title, "additionalProperties": False})
    return schema


def sample(spec: FormSpec) -> dict[str, Any]:
    """The form's sample data from ``samples/{form}.json``."""
    return json.loads((SAMPLES_DIR / f"{spec.id}.json").read_text(encoding="utf-8"))
