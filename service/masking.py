"""Masking of personal identifiers, for anything that is kept or shown outside the document itself.

``mask_id_number`` and ``mask_phone`` mask one known value; ``scrub`` finds and masks every
resident-ID-looking token (``\\d{17}[\\dXx]``) and mainland mobile number (``1[3-9]\\d{9}``, optionally
after ``86``/``+86``) inside a longer text. Tokens are matched only where they are not part of a
longer run of digits or letters, so serials, amounts and hex digests (a SHA-256 may hold eleven digits
in a row that look like a phone number) are left alone; ID numbers are masked before phone
numbers, so a mobile-looking stretch inside an ID number is never half-masked.
"""

from __future__ import annotations

import re

_ID_TOKEN = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE_TOKEN = re.compile(r"(?<![0-9A-Za-z])((?:\+?86)?)(1[3-9]\d{9})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"1[3-9]\d{9}")


def mask_id_number(s: str) -> str:
    """``410105199001011234`` → ``4101**********1234``; values shorter than 9 keep only their first character."""
    if len(s) < 9:
        return s[:1] + "*" * (len(s) - 1)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def mask_phone(s: str) -> str:
    """``13812345678`` → ``138****5678``; other phone strings keep their last 4 digits (and separators) only."""
    if _MOBILE.fullmatch(s):
        return s[:3] + "****" + s[-4:]
    digits = sum(c.isdigit() for c in s)
    keep = 4 if digits > 4 else 0  # a number of 4 digits or fewer would be shown whole
    out, seen = [], 0
    for c in s:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - keep else "*")
        else:
            out.append(c)
    return "".join(out)


def scrub(text: str) -> str:
    """Masks every ID-number-looking and mobile-looking token in ``text``; everything else is kept."""
    text = _ID_TOKEN.sub(lambda m: mask_id_number(m.group()), text)
    return _MOBILE_TOKEN.sub(lambda m: m.group(1) + mask_phone(m.group(2)), text)


def mask_name(name: str) -> str:
    """``陈秀兰`` → ``陈*兰``, ``王芳`` → ``王*``: enough for the holder of a copy to recognise, not to identify.
    Organisations (long names) keep their first and last two characters."""
    name = name.strip()
    if len(name) <= 2:
        return name[:1] + "*" * (len(name) - 1)
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return name[:2] + "*" * (len(name) - 4) + name[-2:]
