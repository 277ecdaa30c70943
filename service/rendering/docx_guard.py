"""PLACEHOLDER until the template-guard branch merges (its inspect_docx replaces this one).

The first look at an uploaded DOCX, before python-docx, docxtpl or LibreOffice parse it: a zip of a sane size
and ratio, Word's main part present, no DTDs or entities in its XML, no macros, ActiveX or embedded objects.
"""

from __future__ import annotations

import io
import re
import zipfile

from ..errors import UnsafeTemplate

MAX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_RATIO = 100
MAX_PARTS = 2000
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_ACTIVE = ("vbaproject", "activex", "embeddings/", "vbadata")


def inspect_docx(data: bytes) -> None:
    """Raises UnsafeTemplate (code not_docx, zip_bomb, xml_entities, active_content)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnsafeTemplate("不是 Word 文档（DOCX）", "not a Word document (DOCX)", code="not_docx") from exc
    names = {info.filename for info in infos}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise UnsafeTemplate("不是 Word 文档（DOCX）", "not a Word document (DOCX)", code="not_docx")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if len(infos) > MAX_PARTS or total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO:
        raise UnsafeTemplate("文件解压后过大（疑似压缩炸弹）", "the file unpacks to too much (a zip bomb?)", code="zip_bomb")
    for info in infos:
        lower = info.filename.lower()
        if any(mark in lower for mark in _ACTIVE):
            raise UnsafeTemplate("文档含有宏、ActiveX 控件或嵌入对象", "the document carries macros, ActiveX or embedded objects",
                                 code="active_content")
        if lower.endswith((".xml", ".rels")):
            with archive.open(info) as part:
                if _DOCTYPE.search(part.read(MAX_UNCOMPRESSED)):
                    raise UnsafeTemplate("文档的 XML 含有 DTD 或实体声明", "the document's XML declares a DTD or entities",
                                         code="xml_entities")
