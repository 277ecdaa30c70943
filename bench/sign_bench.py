"""Benchmark: the signing stage alone. One commitment letter is rendered and converted once; then it is
certified (seal spots, prepared fields, PAdES signature, RFC 3161 timestamp, incremental write) over and
over in one thread, and the timestamp is also taken alone.

    .venv/bin/python -m bench.sign_bench [--count 200] [--form commitment-letter]

Wall time per signature (p50/p95) and CPU per signature (``time.process_time``: every thread of this
process, so a TSA served in process on loopback is counted with us; a remote TSA would not be).
Figures only: no pass/fail.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time

from service.config import load_settings
from service.forms import CATALOGUE
from service.forms.jsonschema import sample
from service.issuing import validate
from service.rendering.context import template_context
from service.rendering.qr import qr_png
from service.runtime import build_services
from service.signing.certify import SignatureRequest
from service.signing.sync import run_sync

from .issue_bench import machine, percentile


def measure(work, count: int) -> tuple[list[float], float]:
    """Wall times of ``count`` calls, in ms, and the CPU per call, in ms."""
    walls: list[float] = []
    cpu = time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        work()
        walls.append((time.perf_counter() - started) * 1000)
    return walls, (time.process_time() - cpu) * 1000 / count


def line(name: str, walls: list[float], cpu: float) -> str:
    return (f"{name:10} {percentile(walls, 50):9.2f} {percentile(walls, 95):9.2f} {statistics.mean(walls):9.2f} {cpu:9.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--form", default="commitment-letter")
    args = parser.parse_args(argv)
    spec = CATALOGUE[args.form]
    with tempfile.TemporaryDirectory(prefix="chengnuo-sign-bench-") as folder:
        settings = load_settings(environ={"CHENGNUO_DATA_DIR": folder}, converter_workers=1)
        services = build_services(settings)
        try:
            agency = services.agencies.default
            _, data = validate(spec.id, sample(spec), services.now().date())
            serial, number = "2026-00000001-ABCD", "[2026年]第1号"
            verify_url = f"{settings.base_url}/v/{serial}"
            context = template_context(spec, data, agency=agency, number=number, serial=serial, verify_url=verify_url,
                                       issued_on=services.now().date())
            pdf = services.converter.convert(services.renderer.render(spec.template, context, qr_png(verify_url)))
            request = SignatureRequest(spec=spec, agency=agency, serial=serial, number=number, verify_url=verify_url)
            digest = hashlib.sha256(b"bench").digest()

            def sign() -> None:
                services.signer.sign(pdf, request)

            def timestamp() -> None:
                run_sync(lambda: services.signer.timestamper().async_timestamp(digest, "sha256"))

            for _ in range(10):  # warm-up: keys loaded, labels calibrated, TSA started
                sign()
                timestamp()
            print(f"machine: {machine()}")
            print(f"{args.form}, {args.count} signatures in one thread")
            print(f"{'':10} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9} {'CPU ms':>9}")
            print(line("sign", *measure(sign, args.count)))
            print(line("timestamp", *measure(timestamp, args.count)))
        finally:
            services.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
