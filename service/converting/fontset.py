"""The converter's own font set: the wide CJK faces of the templates, cut to what official papers use.

For every font a document uses, LibreOffice's PDF export reads the width of every glyph and puts
every code point of the font into a map, once per export (``PrintFontManager::getGlyphWidths``).
Noto Serif CJK and Noto Sans CJK map about 42,000 code points of the BMP (Hangul, CJK Extension A,
compatibility ideographs …), and that alone took ≈ 8 ms of LibreOffice's ≈ 75 ms per letter.

So for each installed face of :data:`FAMILIES` the converter's LibreOffice gets:

* a **common** face under the same family name: the same outlines, metrics and layout tables, mapping
  GB 2312 and everything of the face outside the large CJK blocks (≈ 9,800 code points);
* a **complete** face: the whole face, renamed ``<family> Complete`` inside the font (LibreOffice
  names faces from the font file, and would merge two faces of one name), which a fontconfig alias
  puts first in line for LibreOffice's glyph fallback. A character beyond the common face (镕, 喆,
  Hangul …) is drawn from it: the same glyph, from the same font data.

``fonts.conf`` is the system's configuration plus the faces above, with the system's own faces of
those families hidden, and a cache of its own (built here, so that a worker's start does not scan).
What a reader sees does not change: the tests compare the pixels of documents converted both ways.
Everything else (the body's Fandol faces, the seal, PDFium) keeps the system's fonts.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)

FAMILIES = ("Noto Serif CJK SC", "Noto Sans CJK SC")  # the title's bold song and the headings' hei
COMPLETE_SUFFIX = " Complete"
BUILD_VERSION = 1  # bump when what is written changes
SYSTEM_CONFIG = Path("/etc/fonts/fonts.conf")

# Blocks cut down to GB 2312; everything else the face maps is kept as it is.
_WIDE_BLOCKS = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3130, 0x318F),  # Hangul Compatibility Jamo
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7AF),  # Hangul Syllables
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x3FFFF),  # CJK Extensions B–H
)


@dataclass(frozen=True)
class Face:
    family: str
    style: str
    file: str
    index: int
    size: int
    mtime_ns: int

    @property
    def stem(self) -> str:
        return f"{self.family}-{self.style}".replace(" ", "")


def installed_faces(families: tuple[str, ...] = FAMILIES) -> list[Face]:
    """The system's faces of ``families``, as fontconfig lists them (none if fontconfig is missing)."""
    env = {k: v for k, v in os.environ.items() if k != "FONTCONFIG_FILE"}
    faces = []
    for family in families:
        try:
            listing = subprocess.run(
                ["fc-list", "--format", "%{file}\t%{index}\t%{style[0]}\t%{family[0]}\n", family],
                capture_output=True, text=True, check=True, env=env, timeout=60,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        for line in sorted(set(listing.splitlines())):
            file, index, style, name = line.split("\t")
            if name != family:
                continue
            try:
                stat = Path(file).stat()
            except OSError:  # listed by a stale fontconfig cache, gone from the disk
                continue
            faces.append(Face(family, style, file, int(index), stat.st_size, stat.st_mtime_ns))
    return faces


def common_code_points(cmap: dict[int, str]) -> set[int]:
    """What the common face keeps of ``cmap``: GB 2312, and all outside :data:`_WIDE_BLOCKS`."""
    keep = set()
    for code in cmap:
        if any(low <= code <= high for low, high in _WIDE_BLOCKS):
            if code < 0x10000 and _in_gb2312(code):
                keep.add(code)
        else:
            keep.add(code)
    return keep


def _in_gb2312(code: int) -> bool:
    try:
        chr(code).encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _write_common(face: Face, target: Path) -> int:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    cmap = TTFont(face.file, fontNumber=face.index, lazy=True).getBestCmap()
    options = subset.Options()
    options.font_number = face.index
    options.layout_features = ["*"]  # vertical forms, locl, kerning: layout must not change
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.notdef_outline = True
    options.hinting = True
    options.legacy_kern = True
    options.prune_unicode_ranges = False
    options.drop_tables = [t for t in options.drop_tables if t != "BASE"]
    font = subset.load_font(face.file, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=common_code_points(cmap))
    subsetter.subset(font)
    subset.save_font(font, str(target), options)
    return len(font.getBestCmap())


def _write_complete(face: Face, target: Path) -> None:
    """The whole face, renamed inside the font; untouched tables are copied as they are."""
    from fontTools.ttLib import TTFont

    font = TTFont(face.file, fontNumber=face.index, lazy=True)
    family = face.family + COMPLETE_SUFFIX
    name = font["name"]
    for record in name.names:
        if record.nameID in (1, 16):
            record.string = family
        elif record.nameID in (4, 18):
            record.string = f"{family} {face.style}"
        elif record.nameID == 6:
            record.string = f"{family.replace(' ', '')}-{face.style}"
    font.save(str(target))


def _config(faces_dir: Path, cache_dir: Path, faces: list[Face]) -> str:
    hidden = "\n".join(
        f"    <pattern><patelt name=\"family\"><string>{escape(f.family)}</string></patelt>"
        f"<patelt name=\"file\"><string>{escape(f.file)}</string></patelt></pattern>"
        for f in faces
    )
    aliases = "\n".join(
        f"  <alias binding=\"same\"><family>{escape(family)}</family>"
        f"<accept><family>{escape(family + COMPLETE_SUFFIX)}</family></accept></alias>"
        for family in sorted({f.family for f in faces})
    )
    return f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<!-- Written by service/converting/fontset.py; rebuilt when the system's faces change. -->
<fontconfig>
  <cachedir>{escape(str(cache_dir))}</cachedir>
  <dir>{escape(str(faces_dir))}</dir>
  <include ignore_missing="yes">{escape(str(SYSTEM_CONFIG))}</include>
  <selectfont><rejectfont>
{hidden}
  </rejectfont></selectfont>
{aliases}
</fontconfig>
"""


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _manifest(faces: list[Face]) -> dict:
    return {"version": BUILD_VERSION, "faces": [asdict(f) for f in faces]}


def _current(dest: Path, manifest: dict) -> bool:
    try:
        return json.loads((dest / "manifest.json").read_text()) == manifest and (dest / "fonts.conf").is_file()
    except (OSError, ValueError):
        return False


def build(dest: Path, faces: list[Face]) -> Path:
    """Writes the font set for ``faces`` into ``dest`` (whole, or not at all) and returns its fonts.conf."""
    dest.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(faces)
    with _locked(dest / ".lock"):
        if _current(dest, manifest):
            return dest / "fonts.conf"
        staging = dest / f"faces.new-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for face in faces:
            started = time.monotonic()
            kept = _write_common(face, staging / f"{face.stem}-common.otf")
            _write_complete(face, staging / f"{face.stem}-complete.otf")
            log.info("font set: %s %s → %d code points (%.1f s)", face.family, face.style, kept, time.monotonic() - started)
        faces_dir, cache_dir = dest / "faces", dest / "cache"
        (dest / "manifest.json").unlink(missing_ok=True)
        shutil.rmtree(faces_dir, ignore_errors=True)
        shutil.rmtree(cache_dir, ignore_errors=True)
        staging.rename(faces_dir)
        config = dest / "fonts.conf"
        config.write_text(_config(faces_dir.resolve(), cache_dir.resolve(), faces), encoding="utf-8")
        subprocess.run(["fc-cache", str(faces_dir)], env={**os.environ, "FONTCONFIG_FILE": str(config)},
                       check=True, capture_output=True, timeout=300)
        (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return config


def ensure(dest: Path) -> Path | None:
    """The font set's fonts.conf, built first if missing or stale; ``None`` means the system's fonts.

    The build (≈ 40 s, ~380 MiB at its peak while fontTools holds a CJK face) runs in a child process, so
    the service does not keep that memory; ``make run`` and ``make test`` build it ahead.
    """
    faces = installed_faces()
    if not faces:
        log.warning("font set: none of %s is installed; LibreOffice uses the system's fonts", ", ".join(FAMILIES))
        return None
    dest = dest.resolve()
    if _current(dest, _manifest(faces)):
        return dest / "fonts.conf"
    log.info("font set: building %s (once, about 40 s)", dest)
    try:
        result = subprocess.run([sys.executable, "-m", __name__, str(dest)], check=False, capture_output=True,
                                text=True, timeout=900)
        failure = result.stderr.strip()[-500:] if result.returncode != 0 else ""
    except subprocess.TimeoutExpired:
        failure = "no result in 900 s"
    if failure or not _current(dest, _manifest(faces)):
        log.warning("font set: build failed, LibreOffice uses the system's fonts: %s", failure)
        return None
    for line in result.stderr.splitlines():
        if line.startswith("font set:"):
            log.info("%s", line)
    return dest / "fonts.conf"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the converter's font set")
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    faces = installed_faces()
    if not faces:
        print(f"none of {', '.join(FAMILIES)} is installed", file=sys.stderr)
        return 1
    print(build(args.dest.resolve(), faces))
    return 0


if __name__ == "__main__":
    sys.exit(main())
