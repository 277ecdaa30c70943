"""Fonts of one document cut out of a batch PDF: each embedded font re-subset to the characters that
document shows, so that nothing of the other documents' text (their glyphs, widths or ToUnicode
entries) travels with it.

LibreOffice 7.4 embeds simple fonts only — Type 1 (``/FontFile``, from CFF fonts such as Noto CJK and
Fandol) and TrueType (``/FontFile2``) — each a subset of at most 255 glyphs shared by every page. The
codes a page shows stay as they are; the font program keeps the glyphs of the codes used, and the
/Widths and ToUnicode only their entries. fontTools does the cutting (``t1Lib`` for Type 1, the
subsetter for TrueType). A composite (Type0) or Type 3 font raises :class:`UnsupportedFont`: the
caller then converts that document alone.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterable

import pikepdf
from fontTools import subset as tt_subset
from fontTools import t1Lib
from fontTools.ttLib import TTFont

_TEXT_OPERATORS = {"Tj", "'", '"', "TJ"}
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.DOTALL)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.DOTALL)
_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")
_T1_TRAILER = b"\n" + b"\n".join([b"0" * 64] * 8 + [b"cleartomark", b"%%EndResource", b"%%EOF"])


class UnsupportedFont(Exception):
    """A font this module does not re-subset (composite, Type 3, or an unreadable program)."""


def used_codes(pages: Iterable[pikepdf.Page]) -> dict[tuple[int, int], set[int]]:
    """For every font object the pages show text with: the character codes shown. Form XObjects are
    followed; ``Tf`` is tracked through ``q``/``Q``."""
    found: dict[tuple[int, int], set[int]] = {}
    for page in pages:
        _walk(pikepdf.parse_content_stream(page), page.obj.get("/Resources", pikepdf.Dictionary()), None, found, set())
    return found


def _walk(instructions, resources, font, found, seen) -> None:
    stack: list = []
    fonts = resources.get("/Font", {})
    for operands, operator in instructions:
        op = str(operator)
        if op == "q":
            stack.append(font)
        elif op == "Q":
            font = stack.pop() if stack else font
        elif op == "Tf" and operands:
            font = fonts.get(operands[0]) if hasattr(fonts, "get") else None
        elif op in _TEXT_OPERATORS and font is not None:
            if font.get("/Subtype") not in ("/Type1", "/TrueType", "/MMType1"):
                raise UnsupportedFont(f"a {font.get('/Subtype')} font")
            codes = found.setdefault(font.objgen, set())
            for operand in operands:
                items = operand if isinstance(operand, pikepdf.Array) else [operand]
                for item in items:
                    if isinstance(item, pikepdf.String):
                        codes.update(bytes(item))
        elif op == "Do" and operands:
            xobject = resources.get("/XObject", {}).get(operands[0])
            if xobject is not None and xobject.get("/Subtype") == "/Form" and xobject.objgen not in seen:
                seen.add(xobject.objgen)
                _walk(pikepdf.parse_content_stream(xobject), xobject.get("/Resources", resources), font, found, seen)


def to_unicode(cmap: bytes) -> dict[int, bytes]:
    """Code → UTF-16BE bytes, from a ToUnicode CMap's bfchar and bfrange entries (one-byte codes)."""
    mapping: dict[int, bytes] = {}
    for block in _BFCHAR.findall(cmap):
        values = _HEX.findall(block)
        for source, target in zip(values[::2], values[1::2]):
            mapping[int(source, 16)] = bytes.fromhex(target.decode())
    for block in _BFRANGE.findall(cmap):
        for line in block.splitlines():
            values = _HEX.findall(line)
            if len(values) >= 3 and b"[" not in line:
                first, last, target = int(values[0], 16), int(values[1], 16), bytes.fromhex(values[2].decode())
                for offset in range(last - first + 1):
                    mapping[first + offset] = target[:-2] + (int.from_bytes(target[-2:], "big") + offset).to_bytes(2, "big")
    return mapping


def write_to_unicode(mapping: dict[int, bytes]) -> bytes:
    """A ToUnicode CMap for one-byte codes, in the form LibreOffice writes."""
    lines = [b"/CIDInit/ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo<<\n/Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def",
             b"/CMapName/Adobe-Identity-UCS def", b"/CMapType 2 def",
             b"1 begincodespacerange", b"<00> <FF>", b"endcodespacerange"]
    codes = sorted(mapping)
    for start in range(0, len(codes), 100):
        chunk = codes[start:start + 100]
        lines.append(b"%d beginbfchar" % len(chunk))
        lines += [b"<%02X> <%s>" % (code, mapping[code].hex().upper().encode()) for code in chunk]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end", b""]
    return b"\n".join(lines)


def subset_font(pdf: pikepdf.Pdf, font: pikepdf.Dictionary, codes: set[int], parsed: dict | None = None) -> pikepdf.Dictionary:
    """``font`` cut down to ``codes``: a new font object, or ``font`` itself when the document shows
    every code it has. ``parsed``: Type 1 programs read already, by object number of their stream (the
    same batch PDF is cut several times; reading a program is most of the cost). Raises UnsupportedFont."""
    descriptor = font.get("/FontDescriptor")
    if descriptor is None or font.get("/Subtype") not in ("/Type1", "/TrueType"):
        raise UnsupportedFont(f"a {font.get('/Subtype')} font without an embedded program")
    if "/ToUnicode" in font and set(to_unicode(font.ToUnicode.read_bytes())) <= codes:
        return font  # every glyph of the subset is this document's own
    new_descriptor = pikepdf.Dictionary({k: v for k, v in descriptor.items()})
    try:
        if "/FontFile" in descriptor:
            parsed = {} if parsed is None else parsed
            program = descriptor.FontFile
            if program.objgen not in parsed:
                parsed[program.objgen] = _read_type1(program.read_bytes())
            new_descriptor.FontFile = _type1(pdf, parsed[program.objgen], codes)
        elif "/FontFile2" in descriptor:
            new_descriptor.FontFile2 = _truetype(pdf, descriptor.FontFile2.read_bytes(), codes, _unicode_of(font))
        else:
            raise UnsupportedFont("a font program other than Type 1 or TrueType")
    except UnsupportedFont:
        raise
    except Exception as exc:
        raise UnsupportedFont(f"the font program cannot be re-subset: {type(exc).__name__}: {exc}") from exc
    new_font = pikepdf.Dictionary({k: v for k, v in font.items()})
    new_font.FontDescriptor = pdf.make_indirect(new_descriptor)
    if "/ToUnicode" in font:
        mapping = to_unicode(font.ToUnicode.read_bytes())
        new_font.ToUnicode = pdf.make_stream(write_to_unicode({c: mapping[c] for c in codes if c in mapping}))
    if "/Widths" in font:
        first = int(font.FirstChar)
        widths = list(font.Widths)
        low, high = (min(codes), max(codes)) if codes else (first, first)
        new_font.FirstChar, new_font.LastChar = low, high
        new_font.Widths = pikepdf.Array([widths[c - first] if c in codes and 0 <= c - first < len(widths) else 0
                                         for c in range(low, high + 1)])
    return pdf.make_indirect(new_font)


def _unicode_of(font: pikepdf.Dictionary) -> dict[int, int]:
    if "/ToUnicode" not in font:
        return {}
    return {code: ord(text.decode("utf-16-be")[0]) for code, text in to_unicode(font.ToUnicode.read_bytes()).items() if text}


def _read_type1(program: bytes) -> t1Lib.T1Font:
    with tempfile.NamedTemporaryFile(suffix=".pfa") as handle:  # t1Lib reads from a path only
        handle.write(program)
        handle.flush()
        font = t1Lib.T1Font(handle.name, kind="OTHER")
        font.parse()
    if not isinstance(font["Encoding"], list):
        raise UnsupportedFont("a Type 1 font with the standard encoding")
    return font


def _type1(pdf: pikepdf.Pdf, parsed: t1Lib.T1Font, codes: set[int]) -> pikepdf.Stream:
    encoding = parsed["Encoding"]
    keep = {".notdef"} | {encoding[c] for c in codes if c < len(encoding)}
    font = t1Lib.T1Font.__new__(t1Lib.T1Font)  # a copy to cut, sharing the parsed glyphs
    font.encoding = parsed.encoding
    font.font = dict(parsed.font)
    font.font["Encoding"] = [name if code in codes else ".notdef" for code, name in enumerate(encoding)]
    font.font["CharStrings"] = {name: glyph for name, glyph in parsed["CharStrings"].items() if name in keep}
    data = font.createData()
    clear = data.index(b"currentfile eexec ") + len(b"currentfile eexec ")
    if not data.endswith(_T1_TRAILER):
        raise UnsupportedFont("t1Lib wrote an unexpected Type 1 layout")
    stream = pdf.make_stream(data)
    stream.Length1, stream.Length2, stream.Length3 = clear, len(data) - clear - len(_T1_TRAILER), len(_T1_TRAILER)
    return stream


def _truetype(pdf: pikepdf.Pdf, program: bytes, codes: set[int], unicodes: dict[int, int]) -> pikepdf.Stream:
    font = TTFont(io.BytesIO(program))
    glyphs = {".notdef"} if ".notdef" in font.getGlyphOrder() else {font.getGlyphOrder()[0]}
    for table in font["cmap"].tables if "cmap" in font else ():
        for code in codes:
            for key in (code, 0xF000 + code, unicodes.get(code)):
                if key is not None and key in table.cmap:
                    glyphs.add(table.cmap[key])
    options = tt_subset.Options()
    options.legacy_cmap = options.symbol_cmap = True  # the codes reach the glyphs through these
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.glyph_names = True
    options.layout_features = []
    subsetter = tt_subset.Subsetter(options)
    subsetter.populate(glyphs=sorted(glyphs))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    stream = pdf.make_stream(out.getvalue())
    stream.Length1 = len(out.getvalue())
    return stream
