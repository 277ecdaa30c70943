"""One warm LibreOffice, driven over UNO, converting DOCX files to PDF on request.

Run as a script by the Python that can ``import uno`` (Debian's ``/usr/bin/python3`` with
``python3-uno``), which need not be the service's own Python: this file imports nothing from the
service. The pool in ``converter.py`` starts it in its own process group, so killing the group
takes LibreOffice down with it.

Protocol, one JSON object per line:
  stdout, once:   {"ready": true, "soffice_pid": N}          (or {"ready": false, "error": "…"} and exit)
  stdin:          {"in": "/path/doc.docx", "out": "/path/doc.pdf"}
  stdout:         {"ok": true}  or  {"ok": false, "error": "…"}
Closing stdin ends the worker and its LibreOffice.
"""

from __future__ import annotations

import argparse
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
        filter_data = uno.Any(
            "[]com.sun.star.beans.PropertyValue",
            _props(UseTaggedPDF=True, ExportFormFields=False, ReduceImageResolution=False,
                   ExportBookmarksToPDFDestination=True),  # where the signature labels are: see label_marks.py
        )
        store_props = _props(FilterName="writer_pdf_Export", FilterData=filter_data)
        load_props = _props(Hidden=True, ReadOnly=True)
        _emit({"ready": True, "soffice_pid": office.pid})

        for line in sys.stdin:
            try:
                request = json.loads(line)
                document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(request["in"]), "_blank", 0, load_props)
                if document is None:
                    raise RuntimeError("LibreOffice could not open the document")
                try:
                    document.storeToURL(uno.systemPathToFileUrl(request["out"]), store_props)
                finally:
                    document.close(True)
                _emit({"ok": True})
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
