"""Field builders for the form schemas: every message bilingual, every text safe to put in a DOCX.

The schemas in this package are built only from these helpers, so that
- every error a user can see reads "中文 / English";
- every field carries a Chinese ``title`` (the JSON Schema and the clerk pages show it);
- a text can never carry characters that XML cannot hold (control characters, lone surrogates),
  and a required text can never be blank: the seeds forbid vague or empty notices.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from ..errors import bilingual

# Characters XML 1.0 cannot carry, and the C1 controls, which no form should contain.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_ONE_LINE = re.compile("[\n\t\u2028\u2029]")

_TODAY: contextvars.ContextVar[dt.date | None] = contextvars.ContextVar("form_today", default=None)
EARLIEST_DATE = dt.date(2000, 1, 1)


def today() -> dt.date:
    """The day data is validated on: the service's clock inside ``as_of``, else the machine's."""
    return _TODAY.get() or dt.date.today()


@contextlib.contextmanager
def as_of(day: dt.date) -> Iterator[None]:
    """Validates as on ``day`` (the service injects its clock; tests pin a day)."""
    token = _TODAY.set(day)
    try:
        yield
    finally:
        _TODAY.reset(token)


MSG_REQUIRED = bilingual("必填项不能缺少", "this field is required")
MSG_NULL = bilingual("不能为空值（null）", "this field may not be null")
MSG_BLANK = bilingual("不能为空白，须填写具体内容", "may not be blank: give the concrete content")
MSG_STRING = bilingual("应为文本", "must be a string")
MSG_CONTROL = bilingual("含有不可打印的控制字符", "contains control characters that cannot be printed")
MSG_ONE_LINE = bilingual("只能填写一行，不能含换行或制表符", "must be a single line, without line breaks or tabs")


def _length_message(max_length: int) -> str:
    return bilingual(f"不能超过 {max_length} 个字符", f"may be at most {max_length} characters long")


class _Text(fields.String):
    default_error_messages = {
        "required": MSG_REQUIRED,
        "null": MSG_NULL,
        "invalid": MSG_STRING,
        "invalid_utf8": MSG_STRING,
    }

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if _FORBIDDEN.search(text):
            raise ValidationError(MSG_CONTROL)
        if not self.multiline and _ONE_LINE.search(text):
            raise ValidationError(MSG_ONE_LINE)
        if self.required and not text.strip():
            raise ValidationError(MSG_BLANK)
        return text


def _meta(title: str, description: str | None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": title}
    if description:
        meta["description"] = description
    if extra:
        meta.update(extra)
    return meta


def Text(
    title: str,
    *,
    required: bool = True,
    max_length: int = 200,
    multiline: bool = False,
    description: str | None = None,
) -> fields.String:
    """A text the user types. Required texts may not be blank; optional ones default to ``""``."""
    options: dict[str, Any] = {"required": required}
    if not required:
        options["load_default"] = ""
    return _Text(
        multiline=multiline,
        validate=validate.Length(max=max_length, error=_length_message(max_length)),
        metadata=_meta(title, description, {"x-multiline": multiline}),
        **options,
    )


def Choice(title: str, choices: list[str], *, description: str | None = None, required: bool = True) -> fields.String:
    listed = "、".join(choices)
    message = bilingual(f"只能是以下之一：{listed}", f"must be one of: {', '.join(choices)}")
    options: dict[str, Any] = {"required": required}
    if not required:
        options["load_default"] = None
        options["allow_none"] = True
    return _Text(validate=validate.OneOf(choices, error=message), metadata=_meta(title, description), **options)


# --- identifiers -------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def resident_id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid 18-digit resident ID number (GB 11643-1999), or None."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return bilingual("居民身份证号码应为18位：17位数字加1位数字或X", "a resident ID number has 18 characters: 17 digits, then a digit or X")
    if value[0] not in "12345678":
        return bilingual("居民身份证号码的地区码不正确", "the region code of the resident ID number is wrong")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1880 or birth > today():
        return bilingual("居民身份证号码中的出生日期不是真实日期", "the birth date inside the resident ID number is not a real date")
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        return bilingual("居民身份证号码校验位不正确", "the check digit of the resident ID number is wrong")
    return None


def credit_code_problem(value: str) -> str | None:
    """Why ``value`` is not a valid unified social credit code (GB 32100-2015), or None."""
    if len(value) != 18 or any(c not in _USCC_CHARS for c in value):
        return bilingual(
            "统一社会信用代码应为18位，由数字和除I、O、Z、S、V以外的大写字母组成",
            "a unified social credit code has 18 characters: digits and capital letters except I, O, Z, S, V",
        )
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(value[:17], _USCC_WEIGHTS, strict=True))
    if _USCC_CHARS[(31 - total % 31) % 31] != value[17]:
        return bilingual("统一社会信用代码校验位不正确", "the check character of the unified social credit code is wrong")
    return None


class _Identifier(_Text):
    """Upper-cases and strips the value, then checks it with ``problem``."""

    def __init__(self, problem: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problem = problem

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        problem = self.problem(text)
        if problem:
            raise ValidationError(problem)
        return text


def ResidentId(title: str, *, description: str | None = None) -> fields.String:
    return _Identifier(resident_id_problem, required=True, metadata=_meta(title, description, {"pattern": r"^\d{17}[\dXx]$"}))


def CreditCode(title: str, *, description: str | None = None) -> fields.String:
    return _Identifier(credit_code_problem, required=True, metadata=_meta(title, description, {"pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$"}))


ID_TYPES = ["居民身份证", "统一社会信用代码", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证", "其他"]


def id_number_problem(id_type: str, number: str) -> str | None:
    """Checks ``number`` as the kind of identifier ``id_type`` names (only the two with check digits)."""
    if id_type == "居民身份证":
        return resident_id_problem(number.strip().upper())
    if id_type == "统一社会信用代码":
        return credit_code_problem(number.strip().upper())
    if not re.fullmatch(r"[0-9A-Za-z\-()（）]{5,30}", number.strip()):
        return bilingual("证件编号格式不正确", "the document number is not well formed")
    return None


# --- phone numbers -------------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?:\+?86[- ]?)?(?:1[3-9]\d{9}"  # mobile
    r"|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?"  # landline with area code, optional extension
    r"|\d{7,8}(?:-\d{1,6})?"  # local landline
    r"|[48]00-?\d{3}-?\d{4}"  # 400/800 service numbers
    r"|12345)"  # the government service hotline
)


class _Phone(_Text):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text and not _PHONE.fullmatch(text.replace(" ", "")):
            raise ValidationError(
                bilingual(
                    "电话号码格式不正确（手机号11位，座机如 0356-2022345）",
                    "not a phone number (mobile: 11 digits; landline e.g. 0356-2022345)",
                )
            )
        return text


def Phone(title: str, *, required: bool = True, description: str | None = None) -> fields.String:
    options: dict[str, Any] = {"required": required}
    if not required:
        options["load_default"] = ""
    return _Phone(
        validate=validate.Length(max=30, error=_length_message(30)),
        metadata=_meta(title, description, {"example": "13812345678"}),
        **options,
    )


# --- other scalars -------------------------------------------------------------------------------


class _Date(fields.Date):
    default_error_messages = {
        "required": MSG_REQUIRED,
        "null": MSG_NULL,
        "invalid": bilingual("不是真实的日期，格式应为 YYYY-MM-DD", "not a real date in the form YYYY-MM-DD"),
        "format": bilingual("日期无法输出", "the date cannot be formatted"),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> dt.date:
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise self.make_error("invalid")
        day = super()._deserialize(value, attr, data, **kwargs)
        latest = dt.date(today().year + 1, 12, 31)
        if not EARLIEST_DATE <= day <= latest:
            raise ValidationError(bilingual(f"日期不合常理：应在 {EARLIEST_DATE:%Y年%m月%d日} 至 {latest:%Y年%m月%d日} 之间",
                                            f"an implausible date: it must lie between {EARLIEST_DATE} and {latest}"))
        return day


def Date(title: str, *, required: bool = True, description: str | None = None) -> fields.Date:
    """A day on the form: from 2000 to the end of next year, and not before the birth of anyone the form names."""
    options: dict[str, Any] = {"required": required}
    if not required:
        options["load_default"] = None
        options["allow_none"] = True
    return _Date(metadata=_meta(title, description), **options)


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    children = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _walk(child, f"{path}.{key}" if path else str(key))


def dates_before_birth(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Dates of loaded form data that lie before the birth (taken from the resident ID number) of someone the
    form names: ``{"sign_date": ["…"]}``. Nobody signs, applies or is visited before they were born."""
    births = []
    for _, value in _walk(data):
        if isinstance(value, Mapping) and value.get("id_type") == "居民身份证" and isinstance(value.get("id_number"), str):
            number = value["id_number"]
            with contextlib.suppress(ValueError):
                births.append((dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])), str(value.get("name", ""))))
    if not births:
        return {}
    birth, name = max(births)
    return {path: [bilingual(f"日期早于{name}的出生日期（{birth:%Y年%m月%d日}，据居民身份证号码），不合常理",
                             f"the date is before the birth of {name or 'a person named'} ({birth}, from the resident ID number)")]
            for path, value in _walk(data) if type(value) is dt.date and value < birth}


class _Bool(fields.Boolean):
    default_error_messages = {
        "required": MSG_REQUIRED,
        "null": MSG_NULL,
        "invalid": bilingual("应为是（true）或否（false）", "must be true or false"),
    }
    truthy = {True}
    falsy = {False}


def Flag(title: str, *, required: bool = True, default: bool | None = None, description: str | None = None) -> fields.Boolean:
    options: dict[str, Any] = {"required": required and default is None}
    if default is not None:
        options["load_default"] = default
    return _Bool(metadata=_meta(title, description), **options)


class _Int(fields.Integer):
    default_error_messages = {
        "required": MSG_REQUIRED,
        "null": MSG_NULL,
        "invalid": bilingual("应为整数", "must be a whole number"),
        "too_large": bilingual("数值过大", "the number is too large"),
    }


def Count(
    title: str, *, minimum: int = 1, maximum: int = 365, required: bool = True, description: str | None = None
) -> fields.Integer:
    """A whole number in a range; an optional one may be left out or null (loads as ``None``)."""
    message = bilingual(f"应在 {minimum} 到 {maximum} 之间", f"must be between {minimum} and {maximum}")
    options: dict[str, Any] = {"required": required}
    if not required:
        options.update(load_default=None, allow_none=True)
    return _Int(
        strict=True,
        validate=validate.Range(min=minimum, max=maximum, error=message),
        metadata=_meta(title, description),
        **options,
    )


# --- containers ----------------------------------------------------------------------------------


class _List(fields.List):
    default_error_messages = {
        "required": MSG_REQUIRED,
        "null": MSG_NULL,
        "invalid": bilingual("应为列表", "must be a list"),
    }


def Items(title: str, inner: fields.Field, *, minimum: int = 1, maximum: int = 50, description: str | None = None) -> fields.List:
    """A numbered list or repeating table rows; at least ``minimum`` entries."""
    message = bilingual(f"应有 {minimum} 到 {maximum} 项", f"must have between {minimum} and {maximum} entries")
    return _List(
        inner,
        required=True,
        validate=validate.Length(min=minimum, max=maximum, error=message),
        metadata=_meta(title, description),
    )


class _Nested(fields.Nested):
    default_error_messages = {
        "required": MSG_REQUIRED,
        "null": MSG_NULL,
        "type": bilingual("应为对象", "must be an object"),
    }


def Group(schema: type[Schema], title: str, *, required: bool = True, description: str | None = None) -> fields.Nested:
    """A named block of fields (申请人, 行政机关 …); an optional one (a proxy) may be left out and loads as ``None``."""
    options: dict[str, Any] = {"required": required}
    if not required:
        options.update(load_default=None, allow_none=True)
    return _Nested(schema, metadata=_meta(title, description), **options)


class FormSchema(Schema):
    """Base for every form schema and every nested block: unknown fields are errors, in both languages."""

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": bilingual("未定义的字段", "unknown field"),
        "type": bilingual("应为 JSON 对象", "must be a JSON object"),
    }


class IdentifiedSchema(FormSchema):
    """A block naming a person or organisation by ``id_type`` and ``id_number`` (subclasses declare both):
    the number is checked against its type, and check characters are upper-cased (a lower-case x)."""

    @validates_schema
    def _check_id_number(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "id_type" in data and "id_number" in data:
            problem = id_number_problem(data["id_type"], data["id_number"])
            if problem:
                raise ValidationError(problem, field_name="id_number")

    @post_load
    def _normalise_id_number(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("id_type") in ("居民身份证", "统一社会信用代码") and "id_number" in data:
            data["id_number"] = data["id_number"].strip().upper()
        return data


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict → ``{"applicant.id_number": [...], "items.0.text": [...]}``.

    Errors raised by a schema-level validator (``_schema``) are filed under the enclosing path
    (``"_schema"`` at the top).
    """
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                path = prefix or "_schema"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for sub_path, sub_messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(sub_messages)
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "_schema"] = list(messages)
        else:
            for item in messages:
                for sub_path, sub_messages in flatten_errors(item, prefix).items():
                    flat.setdefault(sub_path, []).extend(sub_messages)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat
