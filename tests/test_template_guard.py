"""Uploaded templates are untrusted: the gate (docx_guard.inspect_docx) and the sandbox (docx_render)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from service.errors import TemplateError, UnsafeTemplate
from service.rendering.docx_guard import DocxLimits, inspect_docx

from .conftest import ROOT

BASE = (ROOT / "templates" / "liaison-form.docx").read_bytes()
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def base_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(BASE)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def package(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in parts.items():
            archive.writestr(zipfile.ZipInfo(name), blob, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def with_parts(changes: dict[str, bytes]) -> bytes:
    """The liaison form's package with parts added or replaced."""
    return package(base_parts() | changes)


def with_body(xml: str) -> bytes:
    """The liaison form with ``xml`` added at the start of its body."""
    parts = base_parts()
    document = parts["word/document.xml"].decode()
    at = document.index("<w:body>") + len("<w:body>")
    parts["word/document.xml"] = (document[:at] + xml + document[at:]).encode()
    return package(parts)


def with_relationship(rel: str) -> bytes:
    parts = base_parts()
    rels = parts["word/_rels/document.xml.rels"].decode()
    parts["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", rel + "</Relationships>").encode()
    return package(parts)


def refused(data: bytes, limits: DocxLimits | None = None) -> UnsafeTemplate:
    with pytest.raises(UnsafeTemplate) as caught:
        inspect_docx(data, limits or DocxLimits())
    return caught.value


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` × ``height`` pixels and holds almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_every_shipped_template_passes_the_gate():
    for path in sorted((ROOT / "templates").glob("*.docx")):
        inspect_docx(path.read_bytes())


def test_a_zip_bomb_is_refused_without_inflating_it():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in base_parts().items():
            archive.writestr(name, blob)
        with archive.open("word/media/zeros.bin", "w") as entry:
            chunk = bytes(1024 * 1024)
            for _ in range(200):
                entry.write(chunk)
    error = refused(out.getvalue())
    assert (error.code, error.part) == ("zip_bomb", "word/media/zeros.bin")
    assert "word/media/zeros.bin" in error.zh and "word/media/zeros.bin" in error.en


def test_a_highly_compressed_part_is_refused_even_under_the_size_limits():
    error = refused(with_parts({"word/media/zeros.bin": bytes(3 * 1024 * 1024)}))
    assert (error.code, error.part) == ("zip_bomb", "word/media/zeros.bin")


@pytest.mark.parametrize("name", ["../evil.xml", "/abs.xml", "word\\evil.xml", "C:/evil.xml", "word/../../evil.xml"])
def test_a_part_name_leaving_the_package_is_refused(name):
    error = refused(with_parts({name: b"<x/>"}))
    assert (error.code, error.part) == ("unsafe_part_name", name)
    assert name in error.en


def test_a_duplicate_part_name_is_refused():
    parts = list(base_parts().items()) + [("WORD/document.xml", b"<x/>")]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, blob in parts:
            archive.writestr(name, blob)
    error = refused(out.getvalue())
    assert (error.code, error.part) == ("unsafe_part_name", "WORD/document.xml")
    assert "duplicate" in error.en


def test_a_relationship_pointing_outside_the_package_is_refused():
    error = refused(with_relationship(
        '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="../../../etc/passwd"/>'
    ))
    assert error.code == "unsafe_part_name" and "../../../etc/passwd" in error.en


def test_an_external_entity_is_refused():
    document = base_parts()["word/document.xml"].decode()
    at = document.index("?>") + 2
    xxe = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    error = refused(with_parts({"word/document.xml": (document[:at] + xxe + document[at:]).encode()}))
    assert (error.code, error.part) == ("xml_entities", "word/document.xml")
    assert "word/document.xml" in error.zh


def test_billion_laughs_are_refused():
    laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    ) + "]>"
    document = base_parts()["word/document.xml"].decode()
    at = document.index("?>") + 2
    error = refused(with_parts({"word/document.xml": (document[:at] + laughs + document[at:].replace("联络员", "&lol9;")).encode()}))
    assert (error.code, error.part) == ("xml_entities", "word/document.xml")


def test_a_macro_project_is_refused():
    error = refused(with_parts({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(100)}))
    assert (error.code, error.part) == ("active_content", "word/vbaProject.bin")
    assert "宏" in error.zh and "macros" in error.en


def test_a_macro_enabled_document_is_refused():
    types = base_parts()["[Content_Types].xml"].decode().replace("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                          "application/vnd.ms-word.document.macroEnabled.main+xml")
    assert refused(with_parts({"[Content_Types].xml": types.encode()})).code == "active_content"


def test_an_external_relationship_is_refused():
    error = refused(with_relationship(
        '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
        'Target="http://attacker/x" TargetMode="External"/>'
    ))
    assert (error.code, error.part) == ("external_link", "word/_rels/document.xml.rels")
    assert "http://attacker/x" in error.en


def test_an_attached_template_is_refused():
    parts = base_parts()
    settings = parts["word/settings.xml"].decode()
    at = settings.index(">", settings.index("<w:settings")) + 1
    parts["word/settings.xml"] = (settings[:at] + '<w:attachedTemplate r:id="rId1"/>' + settings[at:]).encode()
    error = refused(package(parts))
    assert (error.code, error.part) == ("external_link", "word/settings.xml")


def test_a_hyperlink_to_a_web_address_is_allowed():
    inspect_docx(with_relationship(
        '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" '
        'Target="https://www.creditchina.gov.cn/" TargetMode="External"/>'
    ))


def test_a_hyperlink_to_a_file_is_refused():
    error = refused(with_relationship(
        '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" '
        'Target="file:///etc/passwd" TargetMode="External"/>'
    ))
    assert error.code == "external_link"


def test_an_embedded_ole_object_is_refused():
    error = refused(with_parts({"word/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0" + bytes(100)}))
    assert (error.code, error.part) == ("embedded_object", "word/embeddings/oleObject1.bin")
    error = refused(with_body('<w:p><w:r><w:object><w:t>x</w:t></w:object></w:r></w:p>'))
    assert (error.code, error.part) == ("embedded_object", "word/document.xml")


def test_a_field_that_fetches_a_file_is_refused():
    simple = '<w:p><w:fldSimple w:instr=" INCLUDETEXT &quot;C:\\\\secret.docx&quot; "><w:r><w:t>x</w:t></w:r></w:fldSimple></w:p>'
    error = refused(with_body(simple))
    assert (error.code, error.part) == ("active_content", "word/document.xml")
    assert "INCLUDETEXT" in error.en
    complex_ = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> DDE</w:instrText></w:r>'
                '<w:r><w:instrText>AUTO cmd "/c calc"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                '<w:r><w:t>x</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    assert "DDEAUTO" in refused(with_body(complex_)).en


def test_a_hyperlink_field_naming_a_link_is_allowed():
    field = ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> HYPERLINK "https://example.org/link" </w:instrText></w:r>'
             '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    inspect_docx(with_body(field))


def test_an_image_declaring_too_many_pixels_is_refused():
    error = refused(with_parts({"word/media/image9.png": png_header(100_000, 100_000)}))
    assert (error.code, error.part) == ("image_too_large", "word/media/image9.png")
    error = refused(with_parts({"word/media/image9.png": png_header(8000, 8000)}))
    assert error.code == "image_too_large" and "8000×8000" in error.en


def test_limits_are_configurable():
    assert refused(BASE, DocxLimits(max_upload_bytes=1000)).code == "template_too_large"
    assert refused(BASE, DocxLimits(max_parts=3)).code == "too_many_parts"
    inspect_docx(with_parts({"word/media/image9.png": png_header(2000, 1000)}))


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04broken", b""])
def test_what_is_not_a_zip_is_not_a_docx(data):
    assert refused(data).code == "not_docx"


def test_a_zip_without_a_document_is_not_a_docx():
    parts = base_parts()
    del parts["word/document.xml"]
    error = refused(package(parts))
    assert (error.code, error.part) == ("not_docx", "word/document.xml")


def test_a_refused_template_never_reaches_python_docx(monkeypatch):
    """The gate reads the bytes with zipfile, defusedxml and Pillow only: python-docx, docxtpl and lxml are
    never called, for a refused file nor for an accepted one (and LibreOffice only ever gets what they made)."""
    import docx.opc.package
    import docxtpl
    from lxml import etree

    def reached(*args, **kwargs):
        raise AssertionError("reached a parser the gate must not use")

    monkeypatch.setattr(docx.opc.package.OpcPackage, "open", reached)
    monkeypatch.setattr(docxtpl.DocxTemplate, "__init__", reached)
    monkeypatch.setattr(etree, "fromstring", reached)
    monkeypatch.setattr(etree, "XMLParser", reached)
    assert refused(with_parts({"word/vbaProject.bin": b"x"})).code == "active_content"
    inspect_docx(BASE)


# The sandbox: what a template may reach while it renders.

HOSTILE_EXPRESSIONS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ applicant.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ agency|attr('__class__') }}",
    "{{ '{0.__class__}'.format(agency) }}",
    "{{ 'x' * 10**9 }}",
    "{% for i in range(10**9) %}{% endfor %}",
]


@pytest.mark.parametrize("expression", HOSTILE_EXPRESSIONS)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "docxtpl"])
def test_a_template_cannot_reach_python_internals(tmp_path, expression, fast):
    from docx import Document

    from service.rendering.docx_render import DocxRenderer

    from .conftest import issue_context, sample

    document = Document(str(ROOT / "templates" / "liaison-form.docx"))
    document.paragraphs[0].runs[0].text = expression
    document.save(str(tmp_path / "liaison-form.docx"))
    name, context, qr = issue_context("liaison-form", sample("liaison-form"))
    with pytest.raises(TemplateError) as caught:
        DocxRenderer(tmp_path, fast=fast).render(name, context, qr)
    assert caught.value.code == "template_unsafe"
    assert "<class" not in caught.value.en and "subclasses" not in caught.value.zh


# render_bounded: an untrusted template renders in a worker, with time, memory and size bounded.


@pytest.fixture(scope="module")
def bounded():
    from service.rendering import bounded

    yield bounded.render_bounded
    bounded.stop()


def liaison_with(text: str) -> bytes:
    from docx import Document

    document = Document(str(ROOT / "templates" / "liaison-form.docx"))
    document.paragraphs[0].runs[0].text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def liaison_context() -> dict:
    from .conftest import issue_context, sample

    _, context, _ = issue_context("liaison-form", sample("liaison-form"))
    return context


def test_render_bounded_renders_an_honest_template(bounded):
    docx = bounded(BASE, liaison_context(), qr_png=png_header(10, 10))
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        document = archive.read("word/document.xml").decode()
    assert liaison_context()["department"] in document


def test_a_huge_range_is_stopped_by_the_sandbox(bounded):
    from service.errors import TemplateRenderLimit

    with pytest.raises(TemplateRenderLimit) as caught:
        bounded(liaison_with("{% for i in range(10**9) %}x{% endfor %}"), liaison_context(), timeout=20)
    assert caught.value.code == "template_render_limit" and "range" in caught.value.en.lower()


def test_a_long_loop_is_stopped_by_the_time_limit(bounded):
    from service.errors import TemplateRenderLimit

    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateRenderLimit) as caught:
        bounded(liaison_with(loop), liaison_context(), timeout=2)
    assert caught.value.code == "template_render_timeout"
    assert bounded(BASE, liaison_context())  # the worker was replaced


def test_a_document_over_the_size_limit_is_refused(bounded):
    from service.errors import TemplateRenderLimit

    many = "{% for i in range(2000) %}" + "{{ 'x' * 1000 }}" + "{% endfor %}"  # 2 MB of text, deflated to almost nothing
    with pytest.raises(TemplateRenderLimit) as caught:
        bounded(liaison_with(many), liaison_context(), max_output_bytes=1024 * 1024)
    assert caught.value.code == "template_render_too_large"


def test_render_bounded_refuses_what_the_gate_refuses_and_python_internals(bounded):
    with pytest.raises(UnsafeTemplate) as caught:
        bounded(with_parts({"word/vbaProject.bin": b"x"}), liaison_context())
    assert caught.value.code == "active_content"
    with pytest.raises(TemplateError) as unsafe:
        bounded(liaison_with("{{ ''.__class__.__mro__[1].__subclasses__() }}"), liaison_context())
    assert unsafe.value.code == "template_unsafe"
