"""Looking at produced PDFs with independent tools: poppler for text, fonts and page images,
zxing-cpp for QR codes, PyMuPDF for the glyphs actually drawn."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pymupdf
import zxingcpp
from PIL import Image


def _run(args: list[str], pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        return subprocess.run([*args, handle.name, "-"] if args[0] == "pdftotext" else [*args, handle.name],
                              check=True, capture_output=True, text=True).stdout


def text(pdf: bytes, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return _run(args, pdf)


def squash(value: str) -> str:
    """Text without any whitespace: line breaks in a PDF fall anywhere."""
    return re.sub(r"\s+", "", value)


def page_count(pdf: bytes) -> int:
    return int(re.search(r"Pages:\s+(\d+)", _run(["pdfinfo"], pdf)).group(1))


def fonts(pdf: bytes) -> list[dict[str, str]]:
    """pdffonts' table: name, type, emb, sub, uni per font."""
    rows = _run(["pdffonts"], pdf).splitlines()[2:]
    result = []
    for row in rows:
        parts = row.split()
        # name type… encoding emb sub uni object-id gen: read the flags from the right
        result.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return result


def render_page(pdf: bytes, page: int = 1, dpi: int = 150) -> Image.Image:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", str(source), f"{folder}/page"], check=True)
        image_path = next(Path(folder).glob("page*.png"))
        return Image.open(image_path).copy()


def qr_codes(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def glyphs(pdf: bytes, characters: str) -> dict[str, list[tuple[str, int]]]:
    """For each character, the (font, glyph id) pairs it is drawn with. Glyph 0 is .notdef: an empty box."""
    found: dict[str, list[tuple[str, int]]] = {c: [] for c in characters}
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        for page in document:
            for span in page.get_texttrace():
                for char in span["chars"]:
                    c = chr(char[0])
                    if c in found:
                        found[c].append((span["font"], char[1]))
    return found


def body_text(pdf: bytes, footer_pt: float = 85.0) -> str:
    """The text of every page without its footer (the bottom ``footer_pt`` points), pages joined."""
    parts = []
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        for page in document:
            rect = page.rect
            parts.append(page.get_text("text", clip=pymupdf.Rect(0, 0, rect.width, rect.height - footer_pt)))
    return "".join(parts)
