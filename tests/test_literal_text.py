"""Whatever a user types reaches the PDF as itself: markup, template syntax, newlines, rare characters."""

from __future__ import annotations

from . import pdfcheck
from .conftest import sample

HOSTILE = "A&B <b>粗</b> \"引号\" '单引号' {{ applicant.name }} {% if true %}X{% endif %} {_{ y }_} %_} 100%"
RARE_NAME = "龚䶮𠀀㵘"


def issue(client, form_id, data):
    response = client.post("/api/v1/documents", json={"form": form_id, "data": data})
    assert response.status_code == 201, response.json
    return client.get(response.json["links"]["pdf"]).data


def test_markup_and_template_syntax_are_printed_literally(client):
    data = sample("commitment-letter")
    data["matter"] = HOSTILE
    pdf = issue(client, "commitment-letter", data)
    text = pdfcheck.squash(pdfcheck.text(pdf))
    assert pdfcheck.squash(HOSTILE) in text
    assert data["applicant"]["name"] in text  # the {{ applicant.name }} typed by the user was not evaluated...
    assert text.count(pdfcheck.squash("{{ applicant.name }}")) == 1  # ...but printed as typed


def test_newlines_and_tabs_become_line_breaks_and_tabs(client):
    data = sample("commitment-letter")
    data["proof_content"] = "第一行：收入证明\n第二行：\t财产状况说明"
    pdf = issue(client, "commitment-letter", data)
    lines = [line.strip() for line in pdfcheck.text(pdf).splitlines()]
    first = next(i for i, line in enumerate(lines) if line.endswith("第一行：收入证明"))
    assert lines[first + 1].startswith("第二行：") and "财产状况说明" in lines[first + 1]


def test_rare_characters_are_drawn_with_real_glyphs(client, artefacts):
    data = sample("commitment-letter")
    data["applicant"]["name"] = RARE_NAME
    pdf = issue(client, "commitment-letter", data)
    (artefacts / "rare-characters.pdf").write_bytes(pdf)
    assert RARE_NAME in pdfcheck.text(pdf)
    drawn = pdfcheck.glyphs(pdf, RARE_NAME)
    for character, uses in drawn.items():
        assert uses, f"{character} is not drawn at all"
        assert all(glyph != 0 for _font, glyph in uses), f"{character} is drawn as an empty box: {uses}"


def test_long_text_is_printed_whole(client):
    data = sample("commitment-letter")
    data["legal_basis"] = ("《中华人民共和国法律援助法》第四十一条" * 100)[:2000]
    pdf = issue(client, "commitment-letter", data)
    assert pdfcheck.squash(data["legal_basis"]) in pdfcheck.squash(pdfcheck.body_text(pdf))


def test_control_characters_and_lone_surrogates_are_refused_not_crashed(client):
    import json

    for bad in ("张\x00三", "张\x07三", "\ud800"):
        data = sample("commitment-letter")
        data["applicant"]["name"] = bad
        body = json.dumps({"form": "commitment-letter", "data": data})  # ASCII-escaped: a lone surrogate survives
        response = client.post("/api/v1/documents", data=body, content_type="application/json")
        assert response.status_code == 422
        assert list(response.json["errors"]) == ["applicant.name"]
