"""Side-by-side benchmark: chengnuo over HTTP against Carbone CE 3.8 on the same LibreOffice.

    .venv/bin/python -m bench.carbone_bench [--count 60] [--clients 4] [--workers 2] [--rounds 3]

Carbone side: ``carbone@3.8`` installed with npm into ``.cache/carbone/`` (once), driven by
``bench/carbone/render.js``, which starts Carbone's own W LibreOffice "factories" and renders + converts the
commitment letter to PDF with C requests in flight. The template, ``bench/carbone/commitment-letter.docx``,
is our ``templates/commitment-letter.docx`` with every Jinja tag rewritten into Carbone's syntax (rebuilt
when ours changes), so both sides lay out the same letter from ``samples/commitment-letter.json``.

Our side: ``python -m service serve`` with a throw-away data folder and W LibreOffice workers, an API key,
and C HTTP clients (keep-alive) POSTing ``/api/v1/documents``: validated, numbered, rendered, converted,
signed (PAdES + timestamp) and stored. Then the same over every form (``samples/*.json``).

Both sides stay up for the whole run; after one uncounted warm-up round each, the counted rounds alternate
(Carbone, ours, Carbone, ours, …) so that drift of a shared machine touches both. Peak memory is the sum of
the resident sizes (RSS, and PSS, which counts shared pages once) of each side's process tree, sampled every
100 ms from /proc. Results are printed and written to ``bench/RESULTS.md`` between the markers
``<!-- carbone-bench:start -->`` and ``<!-- carbone-bench:end -->``; the rest of that file is left alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import io
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import psutil

ROOT = Path(__file__).resolve().parents[1]
CARBONE_DIR = ROOT / "bench" / "carbone"
CARBONE_CACHE = ROOT / ".cache" / "carbone"
CARBONE_SPEC = "carbone@3.8"
RENDER_JS = CARBONE_DIR / "render.js"
OUR_TEMPLATE = ROOT / "templates" / "commitment-letter.docx"
CARBONE_TEMPLATE = CARBONE_DIR / "commitment-letter.docx"
LETTER_SAMPLE = ROOT / "samples" / "commitment-letter.json"
RESULTS_FILE = ROOT / "bench" / "RESULTS.md"
MARK_START, MARK_END = "<!-- carbone-bench:start -->", "<!-- carbone-bench:end -->"
LIBREOFFICE_PROGRAM = Path("/usr/lib/libreoffice/program")  # Debian's LibreOffice; holds soffice.bin
LETTER = "commitment-letter"
# Printed by both sides for the sample letter; checked in each side's PDF with pdftotext.
LETTER_PHRASES = ("证明事项告知承诺书", "陈秀兰", "晋城市司法局", "1. 终止办理法律援助", "3. 涉嫌犯罪的",
                  "2. 本人家庭除自住房屋", "☑ 1. 是", "公开范围", "2026年3月16日", "登记编号")


class BenchError(RuntimeError):
    pass


# --- the Carbone template, from ours ----------------------------------------------------------------------


_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_INLINE_IF = re.compile(r"\{%-?\s*if\s+([\w.]+)\s*-?%\}(.*?)(?:\{%-?\s*else\s*-?%\}(.*?))?\{%-?\s*endif\s*-?%\}", re.DOTALL)
_EXPR = re.compile(r"\{\{-?\s*([\w.]+)\s*(?:\|\s*(\w+))?\s*-?\}\}")
_CONTROL = re.compile(r"^\s*\{%p\s+(.*?)\s*%\}\s*$")
_FOR = re.compile(r"for\s+(\w+)\s+in\s+([\w.]+)$")
_IF = re.compile(r"if\s+([\w.]+)$")
# Jinja filters of service/rendering/docx_render.py and their Carbone formatters.
_FILTERS = {"cn_date": ":formatD('YYYY年M月D日')"}
QR_WIDTH_MM = 18  # as service/rendering/docx_render.py draws it


def _carbone_quote(text: str) -> str:
    if "'" in text:
        raise BenchError(f"cannot quote {text!r} for a Carbone formatter argument")
    return f"'{text}'"


class _Translator:
    """Rewrites docxtpl/Jinja tags of one template into Carbone tags; keeps the stack of open paragraph loops."""

    def __init__(self) -> None:
        self.loops: list[tuple[str, str]] = []  # (loop variable, array path)

    def path(self, name: str) -> str:
        head, _, rest = name.partition(".")
        for var, array in reversed(self.loops):
            if head == var:
                # Carbone CE 3 loops over arrays of objects only: a list of strings becomes [{"text": …}]
                # (carbone_data), so the bare loop variable is its .text
                return f"d.{array}[i]" + (f".{rest}" if rest else ".text")
        if head == "loop":
            raise BenchError("loop.* outside a loop")
        return f"d.{name}"

    def expr(self, match: re.Match[str]) -> str:
        name, filt = match.group(1), match.group(2)
        if name == "loop.index":
            if not self.loops:
                raise BenchError("loop.index outside a loop")
            return "{" + self.path(self.loops[-1][0]) + ":count()}"
        formatter = ""
        if filt:
            if filt not in _FILTERS:
                raise BenchError(f"no Carbone formatter for the Jinja filter {filt!r}")
            formatter = _FILTERS[filt]
        return "{" + self.path(name) + formatter + "}"

    def inline_if(self, match: re.Match[str]) -> str:
        cond, yes, no = match.group(1), match.group(2), match.group(3) or ""
        if _TAG.search(yes) or _TAG.search(no):
            raise BenchError(f"nested tags inside an inline if: {match.group(0)!r}")
        # show/elseShow without a condition formatter test the value's truthiness, as Jinja's if does
        return "{" + f"{self.path(cond)}:show({_carbone_quote(yes)}):elseShow({_carbone_quote(no)})" + "}"

    def text(self, text: str) -> str:
        text = _INLINE_IF.sub(self.inline_if, text)
        text = _EXPR.sub(self.expr, text)
        if _TAG.search(text):
            raise BenchError(f"untranslated template tag in {text!r}")
        return text


def _paragraph_text(p: Any) -> str:
    from docx.oxml.ns import qn

    return "".join(t.text or "" for t in p.iter(qn("w:t")))


def _text_nodes(p: Any) -> list[Any]:
    from docx.oxml.ns import qn

    return list(p.iter(qn("w:t")))


def _translate_part(root: Any, translator: _Translator) -> None:
    """Every paragraph of one part (body or footer), tables included, in document order."""
    from docx.oxml.ns import qn

    paragraphs = list(root.iter(qn("w:p")))
    pending_begin: list[str] = []  # showBegin markers waiting for the next paragraph with text
    previous: Any = None  # last paragraph kept that has a w:t (to hang showEnd markers on)
    conditions: list[str] = []
    for p in paragraphs:
        control = _CONTROL.match(_paragraph_text(p))
        if control:
            statement = control.group(1)
            if m := _FOR.match(statement):
                translator.loops.append((m.group(1), m.group(2)))
                p.getparent().remove(p)
            elif statement == "endfor":
                _, array = translator.loops.pop()
                # Carbone repeats what lies between the [i] and the [i+1] markers; the [i+1] paragraph goes.
                nodes = _text_nodes(p)
                nodes[0].text = "{" + f"d.{array}[i+1]" + "}"
                for node in nodes[1:]:
                    node.text = ""
            elif m := _IF.match(statement):
                path = translator.path(m.group(1))
                conditions.append(path)
                pending_begin.append("{" + f"{path}:showBegin" + "}")
                p.getparent().remove(p)
            elif statement == "endif":
                path = conditions.pop()
                if previous is None:
                    raise BenchError("{%p endif %} before any paragraph")
                nodes = _text_nodes(previous)
                nodes[-1].text = (nodes[-1].text or "") + "{" + f"{path}:showEnd" + "}"
                p.getparent().remove(p)
            else:
                raise BenchError(f"unsupported paragraph tag {{%p {statement} %}}")
            continue
        nodes = _text_nodes(p)
        for node in nodes:
            if node.text and _TAG.search(node.text):
                node.text = translator.text(node.text)
        if nodes:
            if pending_begin:
                nodes[0].text = "".join(pending_begin) + (nodes[0].text or "")
                pending_begin = []
            previous = p
    if translator.loops or conditions or pending_begin:
        raise BenchError("unbalanced {%p for/if %} tags in the template")


def build_carbone_template(source: Path = OUR_TEMPLATE, target: Path = CARBONE_TEMPLATE, *, force: bool = False,
                           qr_url: str = "http://127.0.0.1:8000/v/2026-00000001-BNCH") -> bool:
    """Writes ``target``, our template with Carbone tags; returns False if it is already up to date.

    The source's SHA-256 is kept in the target's core properties (comments), so the template is rebuilt
    only when ours changed. Carbone CE 3 has no dynamic images: the QR code, a new picture per document
    on our side, is a fixed picture of the same size here.
    """
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Mm

    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    stamp = f"generated by bench/carbone_bench.py from templates/{source.name} sha256:{digest}"
    if target.exists() and not force:
        try:
            if Document(str(target)).core_properties.comments == stamp:
                return False
        except Exception:  # noqa: BLE001, S110 - unreadable: rebuild it
            pass
    document = Document(str(source))
    _translate_part(document.element.body, _Translator())
    seen: set[int] = set()
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_footer, section.even_page_footer):
            if part.is_linked_to_previous or id(part.part) in seen:
                continue
            seen.add(id(part.part))
            element = part._element
            # {{ qr }}: a fixed picture in place of docxtpl's InlineImage
            for t in list(element.iter(qn("w:t"))):
                if t.text and "{{ qr }}" in t.text:
                    t.text = t.text.replace("{{ qr }}", "")
                    from docx.text.run import Run

                    run = Run(t.getparent(), part)
                    run.add_picture(io.BytesIO(_qr_png(qr_url)), width=Mm(QR_WIDTH_MM))
            _translate_part(element, _Translator())
    document.core_properties.comments = stamp
    document.core_properties.title = "证明事项告知承诺书 (Carbone template)"
    target.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(target))
    return True


def _qr_png(url: str) -> bytes:
    from service.rendering.qr import qr_png

    return qr_png(url)


def carbone_data(sample: dict[str, Any], *, year: int = 2026, serial: str = "2026-00000001-BNCH") -> dict[str, Any]:
    """The letter's data as Carbone gets it: the sample plus what our service adds before rendering
    (agency, official number, registry serial, verification URL: fixed values here)."""
    from service.agencies import load_agencies
    from service.config import load_settings

    settings = load_settings(environ={})
    agency = load_agencies(settings.agencies_file).default
    number = agency.numbers.get("commitment", "[{year}年]第{seq}号").format(year=year, seq=1)
    def objects(value: Any) -> Any:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [{"text": item} for item in value]
        if isinstance(value, dict):
            return {key: objects(item) for key, item in value.items()}
        return value

    return {**objects(sample), "agency": {"name": agency.name}, "number": number, "serial": serial,
            "verify_url": f"{settings.base_url}/v/{serial}"}


# --- processes: started in their own groups, tracked, and killed with everything below them ----------------


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, root first."""
    try:
        top = psutil.Process(root)
        return [root] + [child.pid for child in top.children(recursive=True)]
    except psutil.Error:
        return []


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _sid(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


class Tracked:
    """A child process in its own session, whose whole tree (even descendants in other process groups,
    like our LibreOffice workers) is killed by :meth:`stop`."""

    registry: ClassVar[list[Tracked]] = []

    def __init__(self, name: str, argv: list[str], **popen: Any) -> None:
        self.name = name
        self.process = subprocess.Popen(argv, start_new_session=True, **popen)
        self.pid = self.process.pid
        self.last_tree: list[int] = [self.pid]  # the tree as last seen (its orphans, should the root die)
        Tracked.registry.append(self)

    def tree(self) -> list[int]:
        if self.process.poll() is not None:
            return []
        pids = process_tree(self.pid)
        self.last_tree = pids
        return pids

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self not in Tracked.registry:
            return
        pids = self.tree() or list(self.last_tree)
        own_group = os.getpgid(0)
        # (pid, session, group) now: later, a pid is only killed if it still has the same session (not reused)
        seen = [(pid, sid, pgid) for pid in pids
                if (sid := _sid(pid)) is not None and (pgid := _pgid(pid)) is not None and pgid != own_group]
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)  # both sides shut their LibreOffice down on SIGTERM
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        for group in {pgid for _, _, pgid in seen}:
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass
        for pid, sid, _ in seen:
            if _sid(pid) == sid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        Tracked.registry.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for tracked in list(reversed(cls.registry)):
            try:
                tracked.stop(grace=5.0)
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                print(f"could not stop {tracked.name}: {exc}", file=sys.stderr)


# --- memory of a process tree ------------------------------------------------------------------------------

def _rss(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


def _pss(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_full_info().pss
    except (psutil.Error, AttributeError):
        return 0


@dataclass
class MemoryPeak:
    rss: int = 0
    pss: int = 0
    processes: int = 0
    samples: int = 0
    parts: dict[str, int] = field(default_factory=dict)  # RSS by kind of process, at the RSS peak


def _kind(pid: int, root: int) -> str:
    """LibreOffice itself, its UNO bridge (our converting/worker.py, Carbone's converter.py), the side's own process."""
    try:
        process = psutil.Process(pid)
        comm, cmdline = process.name(), " ".join(process.cmdline())
    except psutil.Error:
        return "other"
    if comm in ("soffice.bin", "oosplash") or "soffice" in comm:
        return "LibreOffice"
    if "converting/worker.py" in cmdline or "converter.py" in cmdline:
        return "UNO bridge"
    return "service" if pid == root else "other"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (its own, not its children's)."""
    try:
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


def tree_cpu(tracked: Tracked) -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by each process of the tree, with the kind of process it is."""
    return {pid: (_kind(pid, tracked.pid), _cpu_seconds(pid)) for pid in tracked.tree()}


def cpu_by_kind(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds spent between two snapshots, by kind of process (a process that ended in between is
    not counted: LibreOffice workers are not recycled within a round of this benchmark's size)."""
    spent: dict[str, float] = {}
    for pid, (kind, seconds) in after.items():
        spent[kind] = spent.get(kind, 0.0) + seconds - before.get(pid, (kind, 0.0))[1]
    return spent


class MemorySampler(threading.Thread):
    """Every ``interval`` s, the summed RSS of each watched tree (PSS, which counts shared pages once,
    every fifth sample: reading smaps_rollup costs more); keeps each side's peak."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True, name="memory-sampler")
        self.interval = interval
        self.watched: dict[str, Tracked] = {}
        self.peaks: dict[str, MemoryPeak] = {}
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def watch(self, side: str, tracked: Tracked) -> None:
        with self.lock:
            self.watched[side] = tracked
            self.peaks.setdefault(side, MemoryPeak())

    def run(self) -> None:
        tick = 0
        while not self.halt.wait(self.interval):
            with self.lock:
                watched = list(self.watched.items())
            for side, tracked in watched:
                pids = tracked.tree()
                peak = self.peaks[side]
                sizes = {pid: _rss(pid) for pid in pids}
                total = sum(sizes.values())
                if total > peak.rss:
                    peak.rss = total
                    peak.parts = {}
                    for pid, size in sizes.items():
                        kind = _kind(pid, tracked.pid)
                        peak.parts[kind] = peak.parts.get(kind, 0) + size
                if tick % 5 == 0:
                    peak.pss = max(peak.pss, sum(_pss(pid) for pid in pids))
                peak.processes = max(peak.processes, len(pids))
                peak.samples += 1
            tick += 1


# --- measurements ------------------------------------------------------------------------------------------


@dataclass
class Round:
    side: str
    label: str
    elapsed: float  # s
    latencies: list[float]  # ms, successful documents only
    errors: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)  # per latency, for the all-forms round
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by kind of process, during the round

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else float("nan")


def percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q / 100 * (len(ordered) - 1)  # linear interpolation between closest ranks
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self, cap: float | None = None) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise BenchError(f"the benchmark exceeded its total time limit ({self.seconds:.0f} s, --timeout)")
        return min(left, cap) if cap is not None else left


# --- the Carbone side --------------------------------------------------------------------------------------


def _carbone_installed_version() -> str | None:
    package = CARBONE_CACHE / "node_modules" / "carbone" / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_carbone(deadline: Deadline) -> str:
    version = _carbone_installed_version()
    if version and version.startswith("3.8."):
        return version
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        raise BenchError("Carbone needs Node.js and npm (apt-get install nodejs npm)")
    print(f"installing {CARBONE_SPEC} into {CARBONE_CACHE.relative_to(ROOT)}/ …", flush=True)
    CARBONE_CACHE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([npm, "install", "--prefix", str(CARBONE_CACHE), "--no-audit", "--no-fund", "--loglevel=error", CARBONE_SPEC],
                            check=False, capture_output=True, text=True, timeout=deadline.left(600))
    version = _carbone_installed_version()
    if result.returncode != 0 or not version:
        raise BenchError(f"npm install {CARBONE_SPEC} failed:\n{result.stderr[-2000:]}")
    return version


def _node_env(tmp: Path) -> dict[str, str]:
    """Carbone 3 looks on Linux for ``soffice.bin`` (not the ``soffice`` wrapper) in /opt/libreoffice*/program
    and then on PATH, and for a Python next to it, then ``python3`` on PATH: Debian keeps soffice.bin in
    /usr/lib/libreoffice/program, off PATH, and only Debian's /usr/bin/python3 can ``import uno`` (a pyenv
    or venv python3 earlier on PATH cannot: Carbone then restarts its factories forever)."""
    path = os.environ.get("PATH", "")
    return {**os.environ, "PATH": f"/usr/bin:/bin:{path}:{LIBREOFFICE_PROGRAM}", "TMPDIR": str(tmp),
            "NODE_PATH": str(CARBONE_CACHE / "node_modules"), "DEBUG": "carbone:converter", "DEBUG_COLORS": "no",
            "HOME": str(tmp)}


class LineReader(threading.Thread):
    """Reads a child's stdout lines into a queue (select on a buffered pipe would miss buffered lines)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        import queue

        self.stream = stream
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.start()

    def run(self) -> None:
        for line in self.stream:
            self.lines.put(line.decode("utf-8", "replace"))
        self.lines.put(None)

    def get(self, timeout: float) -> str | None:
        import queue

        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise BenchError(f"no answer within {timeout:.0f} s") from None


class CarboneSide:
    name = "carbone"

    def __init__(self, workers: int, tmp: Path, data: dict[str, Any], deadline: Deadline, fontconfig: str = "") -> None:
        self.workers = workers
        self.fontconfig = fontconfig  # a control run: Carbone's LibreOffice with our font set
        self.tmp = tmp / "carbone"
        self.tmp.mkdir(parents=True)
        self.deadline = deadline
        self.data_file = self.tmp / "data.json"
        self.data_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        self.log = self.tmp / "render.log"
        self.tracked: Tracked | None = None
        self.reader: LineReader | None = None
        self.version = "?"
        self.startup_ms = float("nan")

    def start(self) -> None:
        uno = subprocess.run(["/usr/bin/python3", "-c", "import uno"], check=False, capture_output=True, timeout=30)
        if uno.returncode != 0:
            raise BenchError("Carbone's converter needs /usr/bin/python3 with python3-uno (apt-get install python3-uno)")
        if not (LIBREOFFICE_PROGRAM / "soffice.bin").exists():
            raise BenchError(f"no LibreOffice at {LIBREOFFICE_PROGRAM} (apt-get install libreoffice-writer-nogui)")
        node = shutil.which("node") or "node"
        self.tracked = Tracked(
            "carbone (node)",
            [node, str(RENDER_JS), "--template", str(CARBONE_TEMPLATE), "--data", str(self.data_file),
             "--factories", str(self.workers), "--temp", str(self.tmp / "work")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log.open("wb"),
            env={**_node_env(self.tmp), **({"FONTCONFIG_FILE": self.fontconfig} if self.fontconfig else {})},
            cwd=str(self.tmp),
        )
        self.reader = LineReader(self.tracked.process.stdout)
        ready = self._message(self.deadline.left(120), "start")
        if ready.get("event") != "ready":
            raise BenchError(f"Carbone did not start: {ready}")
        self.version = ready.get("carbone", "?")
        self.startup_ms = ready.get("startup_ms", float("nan"))

    def found(self) -> str:
        """What Carbone found (its own debug line): soffice and python."""
        try:
            for line in self.log.read_text(errors="replace").splitlines():
                if "LibreOffice found" in line:
                    return line.split("LibreOffice found:", 1)[1].strip()
        except OSError:
            pass
        return "?"

    def _message(self, timeout: float, what: str) -> dict[str, Any]:
        assert self.reader and self.tracked
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.reader.get(max(0.1, end - time.monotonic()))
            except BenchError:
                raise BenchError(f"Carbone ({what}): no answer within {timeout:.0f} s; log:\n{self._log_tail()}") from None
            if line is None:
                raise BenchError(f"Carbone exited ({what}); log:\n{self._log_tail()}")
            try:
                return json.loads(line)
            except ValueError:
                continue  # not ours

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-25:])
        except OSError:
            return ""

    def run(self, label: str, count: int, clients: int, save: Path | None = None) -> Round:
        assert self.tracked and self.tracked.process.stdin
        command = {"cmd": "run", "count": count, "clients": clients, "save": str(save) if save else None}
        self.tracked.process.stdin.write((json.dumps(command) + "\n").encode())
        self.tracked.process.stdin.flush()
        # bounded: no round may take longer than 60 s per document per client slot, nor the total limit
        done = self._message(self.deadline.left(60 + 60 * count / max(1, min(clients, self.workers))), label)
        if done.get("event") != "done":
            raise BenchError(f"Carbone: {done}")
        errors = [str(e) for e in done.get("errors", [])]
        if done.get("error_count", 0) > len(errors):
            errors.append(f"… {done['error_count']} errors in all")
        return Round(self.name, label, done["elapsed_ms"] / 1000, [float(v) for v in done["latencies_ms"]], errors)

    def stop(self) -> None:
        if self.tracked:
            if self.tracked.alive() and self.tracked.process.stdin:
                try:
                    self.tracked.process.stdin.write(b'{"cmd": "exit"}\n')
                    self.tracked.process.stdin.close()
                    self.tracked.process.wait(10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self.tracked.stop()


# --- our side ----------------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OurSide:
    name = "chengnuo"

    def __init__(self, workers: int, clients: int, tmp: Path, deadline: Deadline) -> None:
        self.workers = workers
        self.clients = clients
        self.data_dir = tmp / "chengnuo-data"
        self.data_dir.mkdir(parents=True)
        self.log = tmp / "serve.log"
        self.deadline = deadline
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        (tmp / "service-tmp").mkdir()
        # TMPDIR: the LibreOffice profiles go into our temporary folder, removed even if the service dies
        self.env = {**os.environ, "TMPDIR": str(tmp / "service-tmp"),
                    "CHENGNUO_DATA_DIR": str(self.data_dir), "CHENGNUO_CONVERTER_WORKERS": str(workers),
                    "CHENGNUO_BASE_URL": self.base,
                    "PYTHONFAULTHANDLER": "1"}  # a crash of the service leaves every thread's stack in its log
        self.key = ""
        self.tracked: Tracked | None = None
        self.startup_s = float("nan")
        self.last_id: str | None = None

    def _cli(self, *args: str, timeout: float = 180) -> str:
        result = subprocess.run([sys.executable, "-m", "service", *args], cwd=str(ROOT), env=self.env,
                                check=False, capture_output=True, text=True, timeout=self.deadline.left(timeout))
        if result.returncode != 0:
            raise BenchError(f"python -m service {' '.join(args)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def start(self) -> None:
        self._cli("init-pki")
        self.key = self._cli("key", "add", "--name", "bench").strip().splitlines()[-1].strip()
        started = time.monotonic()
        argv = [sys.executable, "-m", "service", "serve", "--port", str(self.port)]
        if self.clients > 8:  # waitress serves 8 requests at once by default
            argv += ["--threads", str(self.clients)]
        self.tracked = Tracked("chengnuo (serve)", argv, cwd=str(ROOT), env=self.env, stdin=subprocess.DEVNULL,
                               stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        end = time.monotonic() + self.deadline.left(180)
        while True:
            if not self.tracked.alive():
                raise BenchError(f"the service exited at start; log:\n{self._log_tail()}")
            try:
                status, _ = self._request("GET", "/healthz", timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > end:
                raise BenchError(f"/healthz did not answer 200 in time; log:\n{self._log_tail()}")
            time.sleep(0.2)
        self.startup_s = time.monotonic() - started

    def _log_tail(self) -> str:
        """The log's last lines; after a crash (faulthandler), the crashed thread's stack instead."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        for index, line in enumerate(lines):
            if line.startswith("Current thread"):
                fatal = next((x for x in lines if x.startswith("Fatal Python error")), "")
                stack = [x for x in lines[index:index + 16] if "site-packages/flask" not in x and "waitress" not in x]
                return "\n".join([fatal, *stack])
        return "\n".join(lines[-25:])

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 120) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def run(self, label: str, payloads: list[tuple[str, bytes]], count: int, clients: int) -> Round:
        """POSTs ``count`` documents, cycling through ``payloads``, from ``clients`` keep-alive connections."""
        lock = threading.Lock()
        latencies: list[float] = []
        forms: list[str] = []
        errors: list[str] = []
        state: dict[str, Any] = {"next": 0, "last": None, "client_cpu": 0.0}
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        stop_at = time.monotonic() + self.deadline.left(60 + 60 * count / max(1, min(clients, self.workers)))

        def client() -> None:
            connection: http.client.HTTPConnection | None = None
            while True:
                with lock:
                    index = state["next"]
                    if index >= count or time.monotonic() > stop_at:
                        break
                    state["next"] += 1
                form, body = payloads[index % len(payloads)]
                started = time.perf_counter()
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                    connection.request("POST", "/api/v1/documents", body=body, headers=headers)
                    response = connection.getresponse()
                    content = response.read()
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status != 201:
                        raise BenchError(f"HTTP {response.status}: {content[:300].decode('utf-8', 'replace')}")
                    document_id = json.loads(content)["id"]
                    with lock:
                        latencies.append(elapsed)
                        forms.append(form)
                        if form == LETTER:
                            state["last"] = document_id
                except (OSError, http.client.HTTPException, BenchError, ValueError, KeyError) as exc:
                    with lock:
                        errors.append(f"{form}: {type(exc).__name__}: {exc}")
                    if connection is not None:
                        connection.close()
                        connection = None
            if connection is not None:
                connection.close()
            with lock:
                state["client_cpu"] += time.thread_time()

        threads = [threading.Thread(target=client, daemon=True) for _ in range(max(1, clients))]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, stop_at - time.monotonic()) + 130)  # a request in flight may take its 120 s
        elapsed = time.perf_counter() - started
        if any(thread.is_alive() for thread in threads):
            raise BenchError(f"our side ({label}): clients still running past the round's time limit")
        if self.tracked and not self.tracked.alive():
            raise BenchError(f"the service exited (code {self.tracked.process.returncode}) during {label}; "
                             f"log:\n{self._log_tail()}")
        if state["next"] < count:
            errors.append(f"stopped after {state['next']} of {count} documents: round time limit")
        if state["last"]:
            self.last_id = state["last"]
        return Round(self.name, label, elapsed, latencies, errors, forms, cpu={"HTTP clients": state["client_cpu"]})

    def fetch_pdf(self, document_id: str) -> bytes:
        status, body = self._request("GET", f"/api/v1/documents/{document_id}/pdf",
                                     headers={"Authorization": f"Bearer {self.key}"})
        if status != 200:
            raise BenchError(f"GET …/{document_id}/pdf: HTTP {status}")
        return body

    def verify(self, pdf: bytes) -> dict[str, Any]:
        status, body = self._request("POST", "/api/v1/verifications", body=pdf,
                                     headers={"Content-Type": "application/pdf", "Accept": "application/json"})
        if status != 200:
            raise BenchError(f"POST /api/v1/verifications: HTTP {status}: {body[:300]!r}")
        return json.loads(body)

    def stop(self) -> None:
        if self.tracked:
            self.tracked.stop(grace=15)


# --- checks of the output ----------------------------------------------------------------------------------


def pdf_check(pdf: Path) -> dict[str, Any]:
    """Pages and the letter's phrases found by pdftotext (whitespace ignored: it spaces CJK from digits)."""
    info = subprocess.run(["pdfinfo", str(pdf)], check=False, capture_output=True, text=True, timeout=60)
    pages = next((int(line.split()[-1]) for line in info.stdout.splitlines() if line.startswith("Pages:")), 0)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=False, capture_output=True, text=True, timeout=60).stdout
    flat = re.sub(r"\s+", "", text)
    missing = [phrase for phrase in LETTER_PHRASES if re.sub(r"\s+", "", phrase) not in flat]
    return {"pages": pages, "chars": len(flat), "missing": missing, "text": text}


def same_text(a: str, b: str) -> bool:
    """The two letters' texts, serials (and spacing) aside."""
    def norm(text: str) -> str:
        text = re.sub(r"\d{4}-\d{8}-[0-9A-Z]{4}", "SERIAL", text)  # registry serial
        text = re.sub(r"第\s*\d+\s*号", "第N号", text)  # official number
        text = re.sub(r"https?://[\w.:-]+/", "URL/", text)  # the service's address in the verification URL
        return re.sub(r"\s+", "", text)

    return norm(a) == norm(b)


# --- the machine -------------------------------------------------------------------------------------------


def machine_info(carbone_version: str, node_version: str) -> dict[str, str]:
    cpu, memory = "?", "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = f"{psutil.virtual_memory().total / 1024 ** 3:.1f} GiB"
    os_name = "?"
    try:
        os_name = next(line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                       if line.startswith("PRETTY_NAME="))
    except (OSError, StopIteration):
        pass
    try:
        libreoffice = subprocess.run(["soffice", "--version"], check=False, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        libreoffice = "?"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": f"{os_name}, Linux {platform.release()}",
        "libreoffice": libreoffice or "?",
        "carbone": f"Carbone CE {carbone_version} on Node {node_version}",
        "python": f"Python {platform.python_version()}",
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


# --- report ------------------------------------------------------------------------------------------------


def _summary(rounds: list[Round]) -> dict[str, float]:
    latencies = [v for r in rounds for v in r.latencies]
    elapsed = sum(r.elapsed for r in rounds)
    return {
        "documents": len(latencies),
        "rate": len(latencies) / elapsed if elapsed else float("nan"),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "errors": sum(len(r.errors) for r in rounds),
    }


def _mib(value: int) -> str:
    return f"{value / 1024 / 1024:.0f}" if value else "–"


def _parts(peak: MemoryPeak) -> str:
    order = ("LibreOffice", "UNO bridge", "service", "other")
    names = {"service": "service/node"}
    return " · ".join(f"{names.get(k, k)} {_mib(peak.parts[k])}" for k in order if peak.parts.get(k))


def _cpu_per_document(rounds: list[Round]) -> dict[str, float]:
    """Milliseconds of CPU per counted document, by kind of process."""
    documents = sum(len(r.latencies) for r in rounds)
    spent: dict[str, float] = {}
    for r in rounds:
        for kind, seconds in r.cpu.items():
            spent[kind] = spent.get(kind, 0.0) + seconds
    return {kind: 1000 * seconds / documents for kind, seconds in spent.items()} if documents else {}


def _cpu_parts(cpu: dict[str, float]) -> str:
    order = ("LibreOffice", "UNO bridge", "service", "HTTP clients", "other")
    names = {"service": "service/node"}
    return " · ".join(f"{names.get(k, k)} {cpu[k]:.0f}" for k in order if cpu.get(k, 0) >= 0.5)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b and not math.isnan(a) and not math.isnan(b) else "–"


def render_markdown(args: argparse.Namespace, machine: dict[str, str], ours: list[Round], theirs: list[Round],
                    forms_round: Round | None, peaks: dict[str, MemoryPeak], checks: dict[str, Any],
                    started: dt.datetime, duration: float, command: str) -> str:
    o, c = _summary(ours), _summary(theirs)
    po, pc = peaks.get("chengnuo", MemoryPeak()), peaks.get("carbone", MemoryPeak())
    pages = checks.get("pages") or "?"
    per_round_ours = " · ".join(f"{r.rate:.2f}" for r in ours)
    per_round_theirs = " · ".join(f"{r.rate:.2f}" for r in theirs)
    cpu_o, cpu_c = _cpu_per_document(ours), _cpu_per_document(theirs)
    total_o, total_c = sum(cpu_o.values()), sum(cpu_c.values())
    lines = [
        "## chengnuo against Carbone CE: the commitment letter",
        "",
        f"Taken {started:%Y-%m-%d %H:%M} UTC with `{command}` ({duration / 60:.1f} min in all).",
        "",
        (f"Both sides turn `samples/commitment-letter.json` into the same {pages}-page PDF letter through the same "
         f"LibreOffice ({machine['libreoffice']}), each with **{args.workers} LibreOffice processes** and "
         f"**{args.clients} requests in flight**:"),
        "",
        ("- **chengnuo**: `python -m service serve` (throw-away data folder), over HTTP with keep-alive, "
         "`POST /api/v1/documents`: validation, official number, render of the docxtpl template (prepared once) with a new QR code, "
         "conversion in the warm LibreOffice pool (tagged PDF, pictures kept at their resolution, the narrowed CJK faces of "
         "`service/converting/fontset.py`), PAdES signature with seal and RFC 3161 "
         "timestamp, storage in the registry. The HTTP clients are threads of the benchmark itself, on the "
         "same cores."),
        ("- **Carbone**: Carbone CE's `render()` with `convertTo: 'pdf'` in one Node process "
         "(`bench/carbone/render.js`: no HTTP, no signature, no storage), with its own LibreOffice \"factories\"; "
         "the template `bench/carbone/commitment-letter.docx` is ours with every tag rewritten in Carbone's "
         "syntax (its QR code is a fixed picture: Carbone CE 3 has no dynamic images), exported with Carbone's default PDF options."),
        "",
        (f"After an uncounted warm-up round each, {args.rounds} counted round(s) of {args.count} letters per side, "
         "alternating (Carbone, chengnuo, Carbone, …) so that drift of the machine touches both. Latency: per "
         "document, from request to complete PDF. Memory: peak of the summed RSS (and PSS, which counts shared "
         "pages once) of each side's process tree (service or node, the LibreOffice processes, their UNO "
         "bridges), sampled every 100 ms over the warm-up and the letter rounds. CPU: user + system time of each side's "
         "processes over the counted rounds (from /proc), per document; on our side also the CPU of the benchmark's "
         "own HTTP client threads, since they share the cores."),
        "",
        f"| commitment letter | chengnuo (HTTP, signed) | Carbone CE {checks.get('carbone', '?')} | chengnuo / Carbone |",
        "|---|---:|---:|---:|",
        f"| documents/s | {o['rate']:.2f} | {c['rate']:.2f} | {_ratio(o['rate'], c['rate'])} |",
        f"| p50 latency, ms | {o['p50']:.0f} | {c['p50']:.0f} | {_ratio(o['p50'], c['p50'])} |",
        f"| p95 latency, ms | {o['p95']:.0f} | {c['p95']:.0f} | {_ratio(o['p95'], c['p95'])} |",
        f"| p99 latency, ms | {o['p99']:.0f} | {c['p99']:.0f} | {_ratio(o['p99'], c['p99'])} |",
        f"| peak memory (RSS), MiB | {_mib(po.rss)} | {_mib(pc.rss)} | {_ratio(po.rss, pc.rss)} |",
        f"| peak memory (PSS), MiB | {_mib(po.pss)} | {_mib(pc.pss)} | {_ratio(po.pss, pc.pss)} |",
        f"| RSS at its peak, by process, MiB | {_parts(po)} | {_parts(pc)} | |",
        f"| CPU per document, ms | {total_o:.0f} | {total_c:.0f} | {_ratio(total_o, total_c)} |",
        f"| CPU per document, by process, ms | {_cpu_parts(cpu_o)} | {_cpu_parts(cpu_c)} | |",
        f"| processes (most at once) | {po.processes} | {pc.processes} | |",
        f"| documents counted (errors) | {o['documents']} ({o['errors']}) | {c['documents']} ({c['errors']}) | |",
        f"| documents/s, round by round | {per_round_ours} | {per_round_theirs} | |",
        "",
    ]
    if forms_round is not None:
        f = _summary([forms_round])
        errors = f", {f['errors']} errors" if f["errors"] else ""
        lines += [
            (f"**Every form** (chengnuo only; the {len(set(forms_round.forms))} samples of `samples/*.json` in "
             f"turn, {f['documents']} documents, {args.clients} clients, after one uncounted document of each): "
             f"**{f['rate']:.2f} documents/s**, p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms, "
             f"p99 {f['p99']:.0f} ms{errors}."),
            "",
        ]
    lines += [
        "Checked in the run: " + "; ".join(checks.get("notes", [])) + ".",
        "",
        (f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}; {machine['os']}; "
         f"{machine['libreoffice']}; {machine['carbone']}; {machine['python']}; load average at the start "
         f"{machine['load']}. A shared machine: read the figures as ±25%, and compare the two sides within one "
         "run only."),
    ]
    return "\n".join(lines) + "\n"


def write_results(section: str, path: Path = RESULTS_FILE, marks: tuple[str, str] = (MARK_START, MARK_END)) -> None:
    """Replaces the part of ``path`` between ``marks`` (or appends it); the rest of the file is left alone."""
    mark_start, mark_end = marks
    block = f"{mark_start}\n{section}{mark_end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n\n"
    start, end = text.find(mark_start), text.find(mark_end)
    if start >= 0 and end > start:
        rest = text[end + len(mark_end):].lstrip("\n")
        text = text[:start] + block + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --- the run -----------------------------------------------------------------------------------------------


def _print_round(r: Round) -> None:
    extra = f"  {len(r.errors)} errors: {r.errors[0]}" if r.errors else ""
    print(f"  {r.side:9} {r.label:9} {len(r.latencies):4d} docs in {r.elapsed:6.2f} s = {r.rate:5.2f}/s   "
          f"p50 {percentile(r.latencies, 50):6.0f} ms  p95 {percentile(r.latencies, 95):6.0f} ms{extra}", flush=True)


def _on_signal(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=60, help="letters per side per counted round")
    parser.add_argument("--clients", type=int, default=4, help="requests in flight, each side")
    parser.add_argument("--workers", type=int, default=2, help="LibreOffice processes, each side")
    parser.add_argument("--rounds", type=int, default=3, help="counted rounds per side (alternating)")
    parser.add_argument("--timeout", type=float, default=1500, help="limit for the whole run, seconds")
    parser.add_argument("--no-forms", action="store_true", help="skip the all-forms round of our side")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--carbone-fonts", choices=["system", "ours"], default="system",
                        help="'ours': a control run with our font set in Carbone's LibreOffice too (printed, not written)")
    parser.add_argument("--rebuild-template", action="store_true", help="rebuild the Carbone template even if current")
    args = parser.parse_args(argv)
    args.no_write = args.no_write or args.carbone_fonts == "ours"
    for name in ("count", "clients", "workers", "rounds"):
        if not 1 <= getattr(args, name) <= 10_000:
            parser.error(f"--{name} must be between 1 and 10000")

    deadline = Deadline(args.timeout)
    started_at = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    command = "python -m bench.carbone_bench " + " ".join(
        f"--{n} {getattr(args, n)}" for n in ("count", "clients", "workers", "rounds"))
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: a background job starts ignoring it
        signal.signal(sig, _on_signal)

    tmp = Path(tempfile.mkdtemp(prefix="chengnuo-carbone-bench-"))
    keep = ROOT / ".cache" / "carbone-bench"  # the last PDFs of each side, to look at
    keep.mkdir(parents=True, exist_ok=True)
    sampler = MemorySampler()
    carbone: CarboneSide | None = None
    ours: OurSide | None = None
    try:
        version = ensure_carbone(deadline)
        if build_carbone_template(force=args.rebuild_template):
            print(f"Carbone template written: {CARBONE_TEMPLATE.relative_to(ROOT)}")
        sample = json.loads(LETTER_SAMPLE.read_text(encoding="utf-8"))
        letter_payload = [(LETTER, json.dumps({"form": LETTER, "data": sample}, ensure_ascii=False).encode())]
        all_payloads = [(p.stem, json.dumps({"form": p.stem, "data": json.loads(p.read_text(encoding="utf-8"))},
                                            ensure_ascii=False).encode()) for p in sorted((ROOT / "samples").glob("*.json"))]

        machine = machine_info(version, platform_node_version())
        print(f"machine: {machine['cpu']} · {machine['cores']} cores · {machine['memory']} · {machine['libreoffice']} "
              f"· load {machine['load']}")
        print(f"{args.rounds} rounds × {args.count} letters per side · {args.clients} clients · "
              f"{args.workers} LibreOffice processes per side", flush=True)

        sampler.start()
        fontconfig = ""
        if args.carbone_fonts == "ours":
            from service.config import load_settings
            from service.converting.fontset import ensure

            fontconfig = str(ensure(load_settings(environ={}).fonts_dir) or "")
            print(f"control run: Carbone's LibreOffice uses our font set ({fontconfig or 'not available'})")
        carbone = CarboneSide(args.workers, tmp, carbone_data(sample), deadline, fontconfig)
        carbone.start()
        sampler.watch("carbone", carbone.tracked)
        print(f"Carbone {carbone.version} ready in {carbone.startup_ms / 1000:.1f} s ({carbone.found()})", flush=True)
        ours = OurSide(args.workers, args.clients, tmp, deadline)
        ours.start()
        sampler.watch("chengnuo", ours.tracked)
        print(f"chengnuo ready in {ours.startup_s:.1f} s on {ours.base}", flush=True)

        warm = max(2 * args.workers, args.clients, 4)
        print(f"warm-up ({warm} letters each, not counted):")
        _print_round(carbone.run("warm-up", warm, args.clients))
        _print_round(ours.run("warm-up", letter_payload, warm, args.clients))

        print("counted rounds:")
        theirs_rounds: list[Round] = []
        our_rounds: list[Round] = []
        carbone_pdf = keep / "carbone-letter.pdf"
        for n in range(1, args.rounds + 1):
            last = n == args.rounds
            before = tree_cpu(carbone.tracked)
            theirs_rounds.append(carbone.run(f"round {n}", args.count, args.clients, save=carbone_pdf if last else None))
            theirs_rounds[-1].cpu = cpu_by_kind(before, tree_cpu(carbone.tracked))
            _print_round(theirs_rounds[-1])
            before = tree_cpu(ours.tracked)
            our_rounds.append(ours.run(f"round {n}", letter_payload, args.count, args.clients))
            our_rounds[-1].cpu.update(cpu_by_kind(before, tree_cpu(ours.tracked)))
            _print_round(our_rounds[-1])

        # Peak memory covers the letter rounds only, which both sides run; the all-forms round is ours alone.
        # (Also before the checks below: a verification starts the service's verification workers.)
        sampler.halt.set()
        sampler.join(2)

        forms_round = None
        if not args.no_forms:
            ours.run("warm-up", all_payloads, len(all_payloads), min(args.clients, len(all_payloads)))
            forms_round = ours.run("all forms", all_payloads, max(args.count, 2 * len(all_payloads)), args.clients)
            _print_round(forms_round)
        peaks = {side: MemoryPeak(**vars(peak)) for side, peak in sampler.peaks.items()}

        # what came out: Carbone's letter is the letter; ours is the same letter, signed and valid
        notes: list[str] = []
        their_check = pdf_check(carbone_pdf)
        notes.append(f"Carbone's PDF has {their_check['pages']} pages"
                     + (f", MISSING {their_check['missing']}" if their_check["missing"] else ", every checked phrase"))
        verdict = None
        if ours.last_id:
            our_pdf = keep / "chengnuo-letter.pdf"
            our_pdf.write_bytes(ours.fetch_pdf(ours.last_id))
            our_check = pdf_check(our_pdf)
            report = ours.verify(our_pdf.read_bytes())
            signatures = report.get("signatures") or []
            verdict = report.get("verdict")
            notes.append(f"chengnuo's PDF has {our_check['pages']} pages"
                         + (f", MISSING {our_check['missing']}" if our_check["missing"] else ", every checked phrase"))
            notes.append(f"same text in both: {'yes' if same_text(our_check['text'], their_check['text']) else 'NO'}")
            notes.append(f"chengnuo's PDF verifies as {report.get('verdict')!r} ({len(signatures)} signature(s))")
        duration = time.monotonic() - t0

        checks = {"notes": notes, "pages": their_check["pages"], "carbone": carbone.version}
        section = render_markdown(args, machine, our_rounds, theirs_rounds, forms_round, peaks, checks,
                                  started_at, duration, command)
        print()
        print(section)
        if not args.no_write:
            write_results(section)
            print(f"written to {RESULTS_FILE.relative_to(ROOT)}")
        failed = (any(r.errors for r in (*our_rounds, *theirs_rounds)) or their_check["missing"]
                  or not ours.last_id or verdict != "valid")
        return 1 if failed else 0
    except (BenchError, OSError, http.client.HTTPException, subprocess.SubprocessError) as exc:
        print(f"\nbenchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for side in (ours, carbone):
            if side is not None and side.tracked is not None and not side.tracked.alive():
                print(f"{side.name} exited with code {side.tracked.process.returncode}; log:\n{side._log_tail()}",
                      file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # let nothing cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        sampler.halt.set()
        for side in (ours, carbone):
            if side is not None:
                try:
                    side.stop()
                except Exception as exc:  # noqa: BLE001 - stop the rest regardless
                    print(f"stopping {side.name}: {exc}", file=sys.stderr)
        Tracked.stop_all()
        for log in (tmp / "serve.log", tmp / "carbone" / "render.log"):  # kept to read after the run
            if log.exists():
                shutil.copyfile(log, keep / log.name)
        shutil.rmtree(tmp, ignore_errors=True)


def platform_node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], check=False, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
