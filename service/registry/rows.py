"""Records made from rows: a frozen dataclass whose fields are columns of the row it is read from."""

from __future__ import annotations

import dataclasses
from typing import Any, Self


class FromRow:
    """Mixed into a record dataclass: ``from_row`` takes the row's columns of the same names as the fields."""

    @classmethod
    def from_row(cls, row: Any) -> Self:
        m = row._mapping
        return cls(**{f.name: m[f.name] for f in dataclasses.fields(cls)})  # type: ignore[arg-type]
