"""One warm LibreOffice, driven over UNO, converting DOCX files to PDF on request.

Run as a script by the Python that can ``import uno`` (Debian's ``/usr/bin/python3`` with
``python3-uno``), which need not be the service's own Python: this file imports nothing from the
service. The pool in ``pool.py`` starts it in its own process group, so killing the group
takes LibreOffice down with it.

Protocol, one JSON object per line:
  stdout, once:   {"ready": true, "soffice_pid": N}          (or {"ready": false, "error": "…"} and exit)
  stdin:          {"in": "/path/doc.docx", "out": "/path/doc.pdf"}
  stdout:         {"ok": true}  or  {"ok": false, "error": "…"}
or, for a file holding several documents one after the other, each between a start and an end bookmark:
  stdin:          {"in": "/path/merged.docx", "parts": [{"out": "/path/0.pdf", "start": "S0", "end": "E0",
                   "suffix": "X0"}, …]}
  stdout:         {"ok": true, "parts": [{"pages": [1, 2]} | {"skipped": "why"}, …]}
  The file is loaded once and each part exported on its own with the PDF filter's PageRange (LibreOffice then
  embeds only what those pages show: font subsets, pictures, structure), from the page of its start bookmark
  to that of its end bookmark. A part with anything but blank pages (those Writer inserts so that a page
  starts on its side, which the export leaves out) between its end bookmark's page and the next part's start
  is skipped: its layout ran beyond its end. First every reference field to an end bookmark (the page total
  a document shows in its footer) is replaced by that document's page count as plain text, so that no link
  is exported, and the start and end bookmarks are removed; during part i's export its own bookmarks, named
  ``<name><suffix>``, are renamed ``<name>`` (the PDF's named destinations; those off its pages are not
  exported at all).
Closing stdin ends the worker and its LibreOffice.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time


def _emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _props(**values):
    from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]

    result = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name = name
        prop.Value = value
        result.append(prop)
    return tuple(result)


def _store(document, uno, url: str, filter_values: dict, **extra) -> None:
    filter_data = uno.Any("[]com.sun.star.beans.PropertyValue", _props(**filter_values, **extra))
    document.storeToURL(url, _props(FilterName="writer_pdf_Export", FilterData=filter_data))


def _export_parts(document, uno, parts: list[dict], filter_values: dict) -> list[dict]:
    """The ``parts`` request (see the module's docstring) on a loaded document: what each part became."""
    bookmarks = document.getBookmarks()
    cursor = document.getCurrentController().getViewCursor()

    def page(name: str) -> int | None:
        if not bookmarks.hasByName(name):
            return None
        cursor.gotoRange(bookmarks.getByName(name).getAnchor(), False)
        return cursor.getPage()

    def blank(number: int) -> bool:
        """Whether physical page ``number`` is one Writer inserted to put the next page on its side: such a page
        holds nothing for the cursor, and the PDF export leaves it out (and out of its page numbers)."""
        cursor.jumpToPage(number)
        return cursor.getPage() != number

    cursor.jumpToLastPage()
    last_page = cursor.getPage()
    starts = [page(part["start"]) for part in parts]
    ends = [page(part["end"]) for part in parts]
    if None in starts or starts[0] != 1 or any(a >= b for a, b in itertools.pairwise(starts)):
        return [{"skipped": "start bookmarks missing or out of order"}] * len(parts)
    blank_pages = [number for number in range(1, last_page + 1) if blank(number)]
    spans: list[tuple[int, int] | str] = []  # the part's pages as the export numbers them, or why it is skipped
    for i, (start, end) in enumerate(zip(starts, ends)):
        after = starts[i + 1] if i + 1 < len(parts) else last_page + 1
        if end is None or not start <= end < after:
            spans.append(f"its end bookmark is not on its pages {start}-{after - 1}")
        elif any(number not in blank_pages for number in range(end + 1, after)):
            spans.append(f"its layout runs on beyond its end bookmark's page {end}, before {after}")
        else:
            before = sum(number < start for number in blank_pages)
            spans.append((start - before, end - before))
    totals = {part["end"]: str(end - start + 1) for part, start, end in zip(parts, starts, ends) if end}
    fields = document.getTextFields().createEnumeration()
    while fields.hasMoreElements():
        field = fields.nextElement()
        if field.supportsService("com.sun.star.text.TextField.GetReference") and field.SourceName in totals:
            anchor = field.getAnchor()
            anchor.getText().insertString(anchor, totals[field.SourceName], True)
    if [page(part["start"]) for part in parts] != starts or [page(part["end"]) for part in parts] != ends:
        return [{"skipped": "the layout changed with the page totals written out"}] * len(parts)
    for name in [part["start"] for part in parts] + [part["end"] for part in parts]:
        if bookmarks.hasByName(name):
            mark = bookmarks.getByName(name)
            mark.getAnchor().getText().removeTextContent(mark)
    names = list(bookmarks.getElementNames())
    results: list[dict] = []
    for part, span in zip(parts, spans):
        if isinstance(span, str):
            results.append({"skipped": span})
            continue
        suffix = part.get("suffix", "")
        own = [bookmarks.getByName(name) for name in names if suffix and name.endswith(suffix)]
        for mark in own:
            mark.setName(mark.getName()[: -len(suffix)])
        try:
            _store(document, uno, uno.systemPathToFileUrl(part["out"]), filter_values, PageRange=f"{span[0]}-{span[1]}")
        finally:
            for mark in own:
                mark.setName(mark.getName() + suffix)
        results.append({"pages": list(span)})
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soffice", required=True)
    parser.add_argument("--profile", required=True, help="folder for this worker's LibreOffice profile")
    parser.add_argument("--pipe", required=True, help="name of the UNO pipe")
    parser.add_argument("--start-timeout", type=float, default=60.0)
    args = parser.parse_args()

    import uno  # type: ignore[import-not-found]
    from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]

    profile_url = uno.systemPathToFileUrl(os.path.abspath(args.profile))
    command = [
        args.soffice,
        "--headless",
        "--invisible",
        "--nocrashreport",
        "--nodefault",
        "--nologo",
        "--nofirststartwizard",
        "--norestore",
        f"-env:UserInstallation={profile_url}",
        f"--accept=pipe,name={args.pipe};urp;StarOffice.ComponentContext",
    ]
    office = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_office(*_: object) -> None:
        """Ends LibreOffice: the launcher (oosplash) and soffice.bin, which the launcher does not take
        down with it — every other process of this worker's process group."""
        if office.poll() is None:
            office.terminate()
            try:
                office.wait(5)
            except subprocess.TimeoutExpired:
                office.kill()
        group, me = os.getpgrp(), os.getpid()
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != me:
                try:
                    if os.getpgid(int(entry)) == group:
                        os.kill(int(entry), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    signal.signal(signal.SIGTERM, lambda *a: (stop_office(), sys.exit(0)))
    stopping = threading.Event()

    def watchdog() -> None:
        """If LibreOffice dies, so does this worker, at once: the pool sees it before giving it work."""
        office.wait()
        if not stopping.is_set():
            os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    # Any way out (the pool gone mid-start: writing to it raises BrokenPipeError) takes LibreOffice along.
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + args.start_timeout
        while True:
            try:
                context = resolver.resolve(f"uno:pipe,name={args.pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if office.poll() is not None or time.monotonic() > deadline:
                    _emit({"ready": False, "error": f"LibreOffice did not start (exit {office.poll()})"})
                    return 1
                time.sleep(0.05)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        # ReduceImageResolution off: the only pictures are QR codes, whose pixels must stay crisp; LibreOffice
        # otherwise resamples every picture to ≤300 dpi, for ~5 ms of CPU per document (a new QR each time).
        filter_values = {"UseTaggedPDF": True, "ExportFormFields": False, "ReduceImageResolution": False,
                         "ExportBookmarksToPDFDestination": True}  # where the signature labels are: see label_marks.py
        load_props = _props(Hidden=True, ReadOnly=True)
        _emit({"ready": True, "soffice_pid": office.pid})

        for line in sys.stdin:
            try:
                request = json.loads(line)
                document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(request["in"]), "_blank", 0, load_props)
                if document is None:
                    raise RuntimeError("LibreOffice could not open the document")
                try:
                    if "parts" in request:
                        reply = {"ok": True, "parts": _export_parts(document, uno, request["parts"], filter_values)}
                    else:
                        _store(document, uno, uno.systemPathToFileUrl(request["out"]), filter_values)
                        reply = {"ok": True}
                finally:
                    document.close(True)
                _emit(reply)
            except Exception as exc:  # noqa: BLE001 - every failure is reported to the pool, which decides
                _emit({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
                if office.poll() is not None:
                    return 1
    finally:
        stopping.set()
        stop_office()
    return 0


if __name__ == "__main__":
    sys.exit(main())
