"""Helpers for the schema tests: load a form's data, or collect its errors by field path."""

from __future__ import annotations

import re

import pytest
from marshmallow import ValidationError

from service.forms import get_form
from service.forms.fields import flatten_errors


def load(form_id: str, data: dict) -> dict:
    return get_form(form_id).schema().load(data)


def errors_of(form_id: str, data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        load(form_id, data)
    return flatten_errors(caught.value.messages)


def assert_bilingual(messages: list[str]) -> None:
    assert messages
    for message in messages:
        assert re.search(r"[\u4e00-\u9fff]", message), message
        assert re.search(r"[A-Za-z]{3}", message), message
        assert " / " in message, message


def assert_only(errors: dict[str, list[str]], path: str) -> None:
    assert set(errors) == {path}, errors
    assert_bilingual(errors[path])
