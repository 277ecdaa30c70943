"""The fast renderer (service/rendering/docx_fast.py) makes the document docxtpl makes.

Every part of the package is compared: XML parts after C14N canonicalisation, other parts (the QR
image) byte for byte. Nothing is normalised: relationship ids, docPr ids and the content types come
out the same on both paths.
"""

from __future__ import annotations

import copy
import io
import logging
import subprocess
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from marshmallow import ValidationError

from service.forms import CATALOGUE
from service.rendering.docx_render import DocxRenderer

from .conftest import SAMPLES, issue_context, sample

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
FORMS = sorted(path.stem for path in SAMPLES.glob("*.json"))
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
HOSTILE = "A&B <b>粗</b> \"引号\" '单引号' {{ applicant.name }} {% if true %}X{% endif %} {_{ y }_} %_} 100%"
HOSTILE_LINES = f"{HOSTILE}\n第二行：\t制表之后"


def parts(docx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def canonical(name: str, blob: bytes) -> bytes:
    if name.endswith((".xml", ".rels")):
        return etree.tostring(etree.fromstring(blob), method="c14n")
    return blob


def assert_same_document(new: bytes, old: bytes) -> None:
    new_parts, old_parts = parts(new), parts(old)
    assert sorted(new_parts) == sorted(old_parts)
    different = [name for name in new_parts if canonical(name, new_parts[name]) != canonical(name, old_parts[name])]
    assert different == []


def with_hostile_text(form_id: str) -> dict[str, Any]:
    """The form's sample with every string replaced by HOSTILE_LINES, or HOSTILE where the schema
    refuses line breaks; strings it refuses both for (dates, choices, numbers) are left as they are."""
    data = sample(form_id)
    schema = CATALOGUE[form_id].schema()

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, (dict, list)):
                walk(value)
            elif isinstance(value, str):
                for candidate in (HOSTILE_LINES, HOSTILE, value):
                    node[key] = candidate
                    try:
                        schema.load(copy.deepcopy(data))
                        break
                    except ValidationError:
                        pass

    walk(data)
    return data


@pytest.fixture(scope="module")
def fast() -> DocxRenderer:
    return DocxRenderer(TEMPLATES)


@pytest.fixture(scope="module")
def docxtpl() -> DocxRenderer:
    return DocxRenderer(TEMPLATES, fast=False)


def test_every_template_takes_the_fast_path(fast):
    assert [form_id for form_id in FORMS if fast.fast_template(CATALOGUE[form_id].template) is None] == []


@pytest.mark.parametrize("with_qr", [True, False], ids=["qr", "no-qr"])
@pytest.mark.parametrize("form_id", FORMS)
def test_sample_renders_as_with_docxtpl(form_id, with_qr, fast, docxtpl):
    template, context, png = issue_context(form_id, sample(form_id))
    png = png if with_qr else None
    assert_same_document(fast.render(template, context, png), docxtpl.render(template, context, png))


@pytest.mark.parametrize("form_id", FORMS)
def test_markup_template_syntax_newlines_and_tabs_render_as_with_docxtpl(form_id, fast, docxtpl):
    template, context, png = issue_context(form_id, with_hostile_text(form_id))
    assert_same_document(fast.render(template, context, png), docxtpl.render(template, context, png))


def test_user_text_comes_out_literally(fast):
    data = sample("commitment-letter")
    data["matter"] = HOSTILE
    data["proof_content"] = "第一行：收入证明\n第二行：\t财产状况说明"
    template, context, png = issue_context("commitment-letter", data)
    body = etree.fromstring(parts(fast.render(template, context, png))["word/document.xml"]).find(f"{W}body")
    paragraphs = ["".join({f"{W}t": node.text or "", f"{W}br": "\n", f"{W}tab": "\t"}.get(node.tag, "") for node in p.iter())
                  for p in body.iter(f"{W}p")]
    assert f"（{HOSTILE}）" in paragraphs
    assert data["proof_content"] in paragraphs


def test_renders_from_several_threads_at_once(fast):
    template, context, png = issue_context("commitment-letter", sample("commitment-letter"))
    expected = {name: canonical(name, blob) for name, blob in parts(fast.render(template, context, png)).items()}
    failures: list[str] = []

    def render_some() -> None:
        for _ in range(10):
            got = {name: canonical(name, blob) for name, blob in parts(fast.render(template, context, png)).items()}
            if got != expected:
                failures.append(threading.current_thread().name)

    threads = [threading.Thread(target=render_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_template_the_fast_path_does_not_support_is_rendered_by_docxtpl(tmp_path, caplog):
    source = parts((TEMPLATES / "commitment-letter.docx").read_bytes())
    source["docProps/core.xml"] = source["docProps/core.xml"].replace(b"<dc:title></dc:title>", b"<dc:title>{{ matter }}</dc:title>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in source.items():
            archive.writestr(name, blob)
    (tmp_path / "commitment-letter.docx").write_bytes(out.getvalue())
    renderer = DocxRenderer(tmp_path)
    template, context, png = issue_context("commitment-letter", sample("commitment-letter"))
    with caplog.at_level(logging.INFO, logger="service.rendering.docx_render"):
        assert renderer.fast_template(template) is None
    assert "rendered by docxtpl" in caplog.text
    core = etree.fromstring(parts(renderer.render(template, context, png))["docProps/core.xml"])
    assert core.findtext("{http://purl.org/dc/elements/1.1/}title") == context["matter"]


def pdftotext(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        return subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", handle.name, "-"], check=True, capture_output=True, text=True).stdout


def test_libreoffice_prints_the_same_text(fast, docxtpl, pool):
    template, context, png = issue_context("commitment-letter", sample("commitment-letter"))
    new, old = pool.convert(fast.render(template, context, png)), pool.convert(docxtpl.render(template, context, png))
    assert pdftotext(new) == pdftotext(old)
    assert context["applicant"]["name"] in pdftotext(new)
