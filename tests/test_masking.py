"""Masking of ID and phone numbers: single values, and tokens inside longer text."""

from __future__ import annotations

from service.masking import mask_id_number, mask_phone, scrub


def test_mask_id_number_keeps_first_and_last_four() -> None:
    assert mask_id_number("410105199001011234") == "4101**********1234"
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_id_number("123456789") == "1234*6789"


def test_mask_id_number_short_values_keep_only_the_first_character() -> None:
    assert mask_id_number("12345678") == "1*******"
    assert mask_id_number("A") == "A"
    assert mask_id_number("") == ""


def test_mask_phone_mobile() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("19912345678") == "199****5678"


def test_mask_phone_other_numbers_keep_the_last_four_digits() -> None:
    assert mask_phone("010-12345678") == "***-****5678"
    assert mask_phone("+86 138 1234 5678") == "+** *** **** 5678"
    assert mask_phone("12345678901") == "*******8901"  # 11 digits but no mobile prefix
    assert mask_phone("1234") == "****"  # too short to show anything


def test_scrub_masks_tokens_in_text() -> None:
    text = "申请人张三，身份证号410105199001011234，电话13812345678；another 11010519491231002x."
    assert scrub(text) == "申请人张三，身份证号4101**********1234，电话138****5678；another 1101**********002x."


def test_scrub_masks_mobiles_with_country_code() -> None:
    assert scrub("tel:+8613812345678") == "tel:+86138****5678"
    assert scrub("8613812345678") == "86138****5678"


def test_scrub_leaves_longer_digit_runs_and_ordinary_text_alone() -> None:
    for text in ("serial 2025000123", "card 6222021234567890123", "number 1381234567890", "沪承诺〔2025〕12号", ""):
        assert scrub(text) == text


def test_scrub_does_not_half_mask_an_id_containing_a_mobile_pattern() -> None:
    # digits 5-15 of this ID look like a mobile number; the ID mask must win
    assert scrub("41011381234567812X") == "4101**********812X"


def test_a_hex_digest_with_a_phone_like_run_of_digits_is_left_alone():
    digest = "7e15229628848f2387ab"  # "15229628848" inside a SHA-256: not a phone number
    assert scrub(f"sha256_after={digest}") == f"sha256_after={digest}"
    assert scrub("联系电话13812345678。") == "联系电话138****5678。"
    assert scrub("ID 140525197903041629, tel 13834562817") == "ID 1405**********1629, tel 138****2817"
