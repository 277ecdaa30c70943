"""The gate an uploaded DOCX template passes before python-docx, docxtpl or LibreOffice touch it.

A template an agency uploads is untrusted input. ``inspect_docx`` reads the package with nothing but
``zipfile`` (every entry decompressed as a stream, under a cap), ``defusedxml`` and Pillow's header
reader, and refuses (UnsafeTemplate, with a ``code`` and the part named) anything that is:

    not_docx            not a zip, or no [Content_Types].xml / word/document.xml, or a part that is not
                        well-formed XML, or a main document of another type (a .dotm, .xlsx …)
    template_too_large  an upload over ``max_upload_bytes``
    too_many_parts      more entries than ``max_parts``
    unsafe_part_name    ``..``, an absolute path, a backslash, a drive letter, a duplicate (part names are
                        case-insensitive), or an internal relationship pointing outside the package
    zip_bomb            more than ``max_part_bytes`` in one entry or ``max_uncompressed_bytes`` in all, or an
                        entry over 1 MB that inflates more than ``max_ratio`` times
    xml_entities        a DTD, entity declarations or external references in any XML part (XXE,
                        billion laughs)
    active_content      macros (vbaProject.bin, vbaData.xml, a macro-enabled content type: a .docm),
                        ActiveX controls, form-field macros, field codes that fetch or execute
                        (INCLUDETEXT, INCLUDEPICTURE, INCLUDE, LINK, DDE, DDEAUTO, IMPORT)
    external_link       a relationship with TargetMode="External", other than a hyperlink to http(s) or
                        mailto; an attached template (w:attachedTemplate) is one too
    embedded_object     OLE objects (word/embeddings, oleObject, w:object), altChunk (another document
                        merged in), an image format that cannot be read
    image_too_large     an image over ``max_image_bytes``, or whose header declares more than
                        ``max image pixels`` (Pillow's own decompression-bomb check included)

Hyperlinks are allowed because a notice may cite a web address (信用中国); LibreOffice does not follow
them when converting, and they stay plain links in the PDF. Everything else external is refused: an
attached template, a linked image or a subdocument would make LibreOffice (or Word) fetch a URL or a
local file.

The checks read the bytes only; nothing here parses XML with lxml or opens the package with
python-docx, so a refused file never reaches them.
"""

from __future__ import annotations

import io
import posixpath
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from PIL import Image

from ..errors import UnsafeTemplate

MB = 1024 * 1024
CONTENT_TYPES = "[Content_Types].xml"
DOCUMENT = "word/document.xml"

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
_MAIN_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
})
_RATIO_FLOOR = 1 * MB  # smaller entries may be as compressible as they like: they cannot hurt
_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_FIELD_WORD = re.compile(r"[A-Za-z]+")
_FETCHING_FIELDS = frozenset({"INCLUDETEXT", "INCLUDEPICTURE", "INCLUDE", "LINK", "DDE", "DDEAUTO", "IMPORT"})
_FIELD_TAGS = frozenset({f"{_W}fldSimple", f"{_W}fldChar", f"{_W}instrText"})
_IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "emf", "wmf", "webp", "ico", "jfif"})
_ALLOWED_LINK_SCHEMES = ("http://", "https://", "mailto:")

# Relationship types (their last path segment) and what each means, whatever their namespace's year.
_ACTIVE_RELATIONSHIPS = {"vbaProject": "active_content", "control": "active_content", "activeXControl": "active_content",
                         "activeXControlBinary": "active_content", "vbaData": "active_content",
                         "oleObject": "embedded_object", "package": "embedded_object", "aFChunk": "embedded_object"}
# Elements of the document's stories and what each means.
_ACTIVE_ELEMENTS = {"object": "embedded_object", "altChunk": "embedded_object", "control": "active_content",
                    "entryMacro": "active_content", "exitMacro": "active_content"}


@dataclass(frozen=True)
class DocxLimits:
    max_upload_bytes: int = 10 * MB
    max_uncompressed_bytes: int = 50 * MB  # all entries together
    max_part_bytes: int = 25 * MB  # one entry
    max_ratio: int = 100  # uncompressed / compressed, for entries over 1 MB
    max_parts: int = 2000
    max_image_pixels: int = 40_000_000
    max_image_bytes: int = 5 * MB


def inspect_docx(data: bytes, limits: DocxLimits = DocxLimits()) -> None:
    """Returns if ``data`` is a DOCX template the service may open; raises UnsafeTemplate (its ``code``,
    and ``part`` naming the entry at fault) otherwise. Reads nothing but the bytes given."""
    if len(data) > limits.max_upload_bytes:
        raise UnsafeTemplate(f"模板文件过大（{len(data) // 1024} KB，上限 {limits.max_upload_bytes // MB} MB）",
                             f"the template is too large ({len(data) // 1024} KB; the limit is {limits.max_upload_bytes // MB} MB)",
                             code="template_too_large")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise _not_docx("文件不是 DOCX（不是 ZIP 压缩包）", "the file is not a DOCX (not a zip archive)") from exc
    with archive:
        infos = [info for info in archive.infolist() if not info.filename.endswith("/")]
        if len(archive.infolist()) > limits.max_parts:
            raise UnsafeTemplate(f"模板包含的部件过多（{len(archive.infolist())} 个，上限 {limits.max_parts}）",
                                 f"the template has too many parts ({len(archive.infolist())}; the limit is {limits.max_parts})",
                                 code="too_many_parts")
        _check_names(archive.infolist())
        _check_declared_sizes(infos, limits)
        names = {info.filename for info in infos}
        for required in (CONTENT_TYPES, DOCUMENT):
            if required not in names:
                raise _not_docx(f"文件不是 DOCX：缺少 {required}", f"the file is not a DOCX: {required} is missing", required)
        parts = dict(_read_all(archive, infos, limits))
    types = _content_types(parts)
    _check_part_kinds(parts, types)
    trees = {name: _parse(name, blob) for name, blob in parts.items() if _is_xml(name, types)}
    _check_content_types(trees[CONTENT_TYPES])
    for name, tree in trees.items():
        if name.endswith(".rels"):
            _check_relationships(name, tree)
        elif name != CONTENT_TYPES:
            _check_story(name, tree)
    for name, blob in parts.items():
        if _is_image(name, types):
            _check_image(name, blob, limits)


def _not_docx(zh: str, en: str, part: str | None = None) -> UnsafeTemplate:
    return UnsafeTemplate(zh, en, code="not_docx", part=part)


def _check_names(infos: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        name = info.orig_filename
        segments = name.rstrip("/").split("/")
        unsafe = (
            not name or name.startswith("/") or "\\" in name or "\x00" in name or _DRIVE.match(name)
            or any(segment in ("", ".", "..") for segment in segments)
        )
        duplicate = name.lower() in seen
        if unsafe or duplicate:
            what = ("重复的部件名", "a duplicate part name") if duplicate and not unsafe else ("不安全的部件名", "an unsafe part name")
            raise UnsafeTemplate(f"模板含有{what[0]}：「{_shown(name)}」", f"the template has {what[1]}: “{_shown(name)}”", code="unsafe_part_name", part=name)
        seen.add(name.lower())


def _shown(text: str) -> str:
    """A name from the file, fit for a message: control characters replaced, length bounded."""
    return "".join(c if c.isprintable() else "?" for c in text[:200])


def _bomb(part: str, zh: str, en: str) -> UnsafeTemplate:
    return UnsafeTemplate(f"模板疑似压缩炸弹：{part} {zh}", f"the template looks like a zip bomb: {part} {en}", code="zip_bomb", part=part)


def _check_declared_sizes(infos: list[zipfile.ZipInfo], limits: DocxLimits) -> None:
    """The sizes the headers declare: a quick refusal before anything is inflated (and not trusted after)."""
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _not_docx(f"模板中的部件 {info.filename} 已加密", f"the part {info.filename} of the template is encrypted", info.filename)
        if info.file_size > limits.max_part_bytes:
            raise _bomb(info.filename, f"解压后 {info.file_size // MB} MB，超过上限", f"inflates to {info.file_size // MB} MB, over the limit")
        if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _bomb(info.filename, f"压缩比超过 {limits.max_ratio}", f"is compressed more than {limits.max_ratio} times")
        total += info.file_size
    if total > limits.max_uncompressed_bytes:
        raise _bomb("", f"解压后共 {total // MB} MB，超过上限", f"inflates to {total // MB} MB in all, over the limit")


def _read_all(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: DocxLimits) -> Iterator[tuple[str, bytes]]:
    """Every entry, inflated as a stream and counted as it comes: a header that lies about the size
    is caught at the cap, not after inflating all of it."""
    total = 0
    for info in infos:
        cap = min(limits.max_part_bytes, limits.max_uncompressed_bytes - total)
        chunks: list[bytes] = []
        size = 0
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > cap:
                        raise _bomb(info.filename, "解压后超过上限", "inflates beyond the limit")
                    if size > _RATIO_FLOOR and size > limits.max_ratio * max(info.compress_size, 1):
                        raise _bomb(info.filename, f"压缩比超过 {limits.max_ratio}", f"is compressed more than {limits.max_ratio} times")
                    chunks.append(chunk)
        except UnsafeTemplate:
            raise
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, OSError, EOFError) as exc:
            raise _not_docx(f"模板中的部件 {info.filename} 已损坏或无法读取", f"the part {info.filename} of the template is damaged or unreadable",
                            info.filename) from exc
        total += size
        yield info.filename, b"".join(chunks)


def _parse(name: str, blob: bytes) -> Element:
    try:
        return safe_fromstring(blob, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeTemplate(f"模板部件 {name} 含有 DTD 或实体声明（可能是 XML 外部实体或实体膨胀攻击），不予接受",
                             f"the template part {name} declares a DTD or entities (XML external entities or entity expansion) and is refused",
                             code="xml_entities", part=name) from exc
    except (ParseError, ValueError) as exc:
        raise _not_docx(f"模板部件 {name} 不是格式正确的 XML", f"the template part {name} is not well-formed XML", name) from exc


def _content_types(parts: dict[str, bytes]) -> dict[str, str]:
    """Part name (lower case) → content type; ``*.ext`` keys for the defaults."""
    root = _parse(CONTENT_TYPES, parts[CONTENT_TYPES])
    types: dict[str, str] = {}
    for element in root:
        if element.tag == f"{_CT}Default":
            types["*." + element.get("Extension", "").lower()] = element.get("ContentType", "")
        elif element.tag == f"{_CT}Override":
            types[element.get("PartName", "").lstrip("/").lower()] = element.get("ContentType", "")
    return types


def _content_type(name: str, types: dict[str, str]) -> str:
    return types.get(name.lower()) or types.get("*." + name.rsplit(".", 1)[-1].lower(), "")


def _is_xml(name: str, types: dict[str, str]) -> bool:
    kind = _content_type(name, types)
    return name.endswith((".xml", ".rels")) or kind.endswith("xml")


def _is_image(name: str, types: dict[str, str]) -> bool:
    kind = _content_type(name, types)
    return (kind.startswith("image/") and "svg" not in kind) or name.rsplit(".", 1)[-1].lower() in _IMAGE_EXTENSIONS


def _active(code: str, part: str, zh: str, en: str) -> UnsafeTemplate:
    return UnsafeTemplate(f"模板含有{zh}（{part}），不予接受", f"the template contains {en} ({part}) and is refused", code=code, part=part)


def _check_part_kinds(parts: dict[str, bytes], types: dict[str, str]) -> None:
    main_type = _content_type(DOCUMENT, types)
    if "macroenabled" in main_type.lower():
        raise _active("active_content", DOCUMENT, "宏（启用宏的文档 .docm）", "macros (a macro-enabled document, .docm)")
    if main_type not in _MAIN_TYPES:
        raise _not_docx(f"文件不是 Word 文档（{DOCUMENT} 的类型为 {main_type or '未声明'}）",
                        f"the file is not a Word document ({DOCUMENT} is of type {main_type or 'undeclared'})", DOCUMENT)
    for name in parts:
        lower, kind = name.lower(), _content_type(name, types).lower()
        if "vbaproject" in lower or "vbadata" in lower or "vbaproject" in kind or "vbadata" in kind or "macroenabled" in kind:
            raise _active("active_content", name, "宏", "macros")
        if "/activex/" in f"/{lower}" or "activex" in kind:
            raise _active("active_content", name, "ActiveX 控件", "an ActiveX control")
        if "/embeddings/" in f"/{lower}" or "oleobject" in lower or "oleobject" in kind:
            raise _active("embedded_object", name, "嵌入对象（OLE）", "an embedded (OLE) object")


def _check_content_types(root: Element) -> None:
    for element in root:
        kind = element.get("ContentType", "").lower()
        where = element.get("PartName") or f"*.{element.get('Extension', '')}"
        if "macroenabled" in kind or "vbaproject" in kind or "vbadata" in kind:
            raise _active("active_content", CONTENT_TYPES, f"宏的内容类型（{where}）", f"a macro content type ({where})")
        if "activex" in kind:
            raise _active("active_content", CONTENT_TYPES, f"ActiveX 的内容类型（{where}）", f"an ActiveX content type ({where})")
        if "oleobject" in kind:
            raise _active("embedded_object", CONTENT_TYPES, f"嵌入对象的内容类型（{where}）", f"an embedded-object content type ({where})")


def _check_relationships(name: str, root: Element) -> None:
    source_folder = posixpath.dirname(posixpath.dirname(name))  # word/_rels/document.xml.rels → word
    for rel in root.iter(f"{_RELS}Relationship"):
        kind = rel.get("Type", "")
        target = rel.get("Target", "")
        short = kind.rsplit("/", 1)[-1]
        if short in _ACTIVE_RELATIONSHIPS:
            code = _ACTIVE_RELATIONSHIPS[short]
            what = ("宏或 ActiveX 控件", "macros or an ActiveX control") if code == "active_content" else ("嵌入对象", "an embedded object")
            raise _active(code, f"{name}: {target}", what[0], what[1])
        if rel.get("TargetMode", "Internal") == "External":
            if kind == _HYPERLINK and target.strip().lower().startswith(_ALLOWED_LINK_SCHEMES):
                continue
            what = ("附加模板", "an attached template") if short == "attachedTemplate" else ("外部链接", "an external link")
            raise UnsafeTemplate(f"模板含有{what[0]}，指向 {_shown(target)}（{name}），不予接受",
                                 f"the template contains {what[1]} to {_shown(target)} ({name}) and is refused",
                                 code="external_link", part=name)
        resolved = posixpath.normpath(target.lstrip("/") if target.startswith("/") else posixpath.join(source_folder, target))
        if resolved.startswith("../") or resolved == ".." or "\\" in target or _DRIVE.match(target):
            raise UnsafeTemplate(f"模板的关系「{_shown(target)}」指向包外（{name}）", f"the relationship “{_shown(target)}” points outside the package ({name})",
                                 code="unsafe_part_name", part=name)


def _check_story(name: str, root: Element) -> None:
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if tag.endswith("}OLEObject"):  # VML's o:OLEObject
            raise _active("embedded_object", name, "嵌入对象（OLE）", "an embedded (OLE) object")
        if not tag.startswith(_W):
            continue
        local = tag[len(_W):]
        if local in _ACTIVE_ELEMENTS:
            code = _ACTIVE_ELEMENTS[local]
            what = {"object": ("嵌入对象（w:object）", "an embedded object (w:object)"),
                    "altChunk": ("合并的外部文档（w:altChunk）", "a merged-in document (w:altChunk)"),
                    "control": ("ActiveX 控件（w:control）", "an ActiveX control (w:control)")}.get(local, ("表单域宏", "a form-field macro"))
            raise _active(code, name, what[0], what[1])
        if local == "attachedTemplate":
            raise UnsafeTemplate(f"模板附加了外部模板（{name}），不予接受；请另存为普通 .docx 后再上传",
                                 f"the template has an attached template ({name}) and is refused; save it as a plain .docx and upload again",
                                 code="external_link", part=name)
    fetching = sorted({kind for kind in _field_kinds(root) if kind in _FETCHING_FIELDS})
    if fetching:
        raise _active("active_content", name, f"读取外部内容或执行的域代码（{', '.join(fetching)}）",
                      f"field codes that fetch or execute ({', '.join(fetching)})")


def _field_kinds(root: Element) -> Iterator[str]:
    """The kind (first word, upper case) of every field: simple fields, and complex ones whose
    instruction is spread over w:instrText runs between w:fldChar begin and separate, nested or not."""
    open_fields: list[list[str]] = []  # the instruction pieces of each field begun and not yet ended
    collecting: list[bool] = []
    for element in root.iter():
        if element.tag not in _FIELD_TAGS:
            continue
        local = element.tag[len(_W):]
        if local == "fldSimple":
            yield _first_word(element.get(f"{_W}instr", ""))
        elif local == "instrText":
            if open_fields and collecting[-1]:
                open_fields[-1].append(element.text or "")
            else:
                yield _first_word(element.text or "")  # an instruction outside any field: judged alone
        else:
            kind = element.get(f"{_W}fldCharType")
            if kind == "begin":
                open_fields.append([])
                collecting.append(True)
            elif kind == "separate" and collecting:
                collecting[-1] = False
            elif kind == "end" and open_fields:
                collecting.pop()
                yield _first_word("".join(open_fields.pop()))
    for pieces in open_fields:
        yield _first_word("".join(pieces))


def _first_word(instruction: str) -> str:
    match = _FIELD_WORD.search(instruction)
    return match.group(0).upper() if match else ""


def _check_image(name: str, blob: bytes, limits: DocxLimits) -> None:
    too_large = UnsafeTemplate(f"模板中的图片 {name} 过大", f"the image {name} in the template is too large", code="image_too_large", part=name)
    if len(blob) > limits.max_image_bytes:
        raise too_large
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(blob)) as image:  # reads the header only
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large from exc
    except Exception as exc:  # Pillow raises many kinds for a file it cannot read
        raise _active("embedded_object", name, "无法识别的图片或对象", "an image or object that cannot be read") from exc
    if width * height > limits.max_image_pixels:
        raise UnsafeTemplate(f"模板中的图片 {name} 过大（{width}×{height} 像素）",
                             f"the image {name} in the template is too large ({width}×{height} pixels)", code="image_too_large", part=name)
