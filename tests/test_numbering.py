"""Official numbers and serials: formats, counters per agency/kind/year, races, and failures kept as voided."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from service import issuing
from service.agencies import Agency
from service.auth.principal import OPERATOR
from service.errors import ConversionError
from service.registry.numbering import format_serial
from service.registry.tables import documents

from .conftest import sample

ZONE = ZoneInfo("Asia/Shanghai")


def test_agency_formats_follow_forms_md():
    justice = Agency("jc-justice", "晋城市司法局", {"commitment": "[{year}年]第{seq}号", "letter": "晋市司函字〔{year}〕{seq}号"})
    assert justice.format_number("letter", 2021, 5) == "晋市司函字〔2021〕5号"
    assert justice.format_number("commitment", 2021, 5) == "[2021年]第5号"
    padded = Agency("x", "x", {"commitment": "[{year}年]第{seq:03d}号"})
    assert padded.format_number("commitment", 2021, 5) == "[2021年]第005号"


def test_serial_has_year_sequence_and_unguessable_suffix():
    serial = format_serial(2026, 42)
    assert serial.startswith("2026-00000042-") and len(serial) == 18
    suffixes = {format_serial(2026, 42)[-4:] for _ in range(50)}
    assert len(suffixes) > 40 and all(set(s) <= set("23456789ABCDEFGHJKMNPQRSTVWXYZ") for s in suffixes)  # random, readable


def reserve(services, agency_id="jc-justice", kind="letter", year=2026):
    return services.registry.reserve(
        form="assistance-reply", agency=services.agencies.get(agency_id), number_kind=kind, subject="",
        data={}, now=dt.datetime(year, 3, 1, tzinfo=ZONE), year=year, request_id=None, owner=services.instances.id,
    )


def test_counters_run_per_agency_per_kind_per_year(services):
    assert reserve(services).number == "晋市司函字〔2026〕1号"
    assert reserve(services).number == "晋市司函字〔2026〕2号"
    assert reserve(services, kind="commitment").number == "[2026年]第1号"
    assert reserve(services, agency_id="jc-market").number == "晋市监函字〔2026〕1号"
    assert reserve(services, agency_id="jc-market", kind="commitment").number == "[2026年]第001号"
    assert reserve(services, year=2027).number == "晋市司函字〔2027〕1号"
    assert reserve(services).number == "晋市司函字〔2026〕3号"


def test_numbers_never_repeat_when_requests_race(services):
    numbers: list[str] = []
    serials: list[str] = []
    lock = threading.Lock()

    def draw() -> None:
        for _ in range(10):
            record = reserve(services)
            with lock:
                numbers.append(record.number)
                serials.append(record.serial)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == 80
    assert sorted(numbers, key=lambda n: int(n.split("〕")[1][:-1])) == [f"晋市司函字〔2026〕{i}号" for i in range(1, 81)]
    assert len(set(serials)) == 80


class FailingConverter:
    def convert(self, docx: bytes) -> bytes:
        raise ConversionError("文档转换失败", "LibreOffice could not convert the document")

    def status(self) -> dict:
        return {"workers": 0}

    def stop(self) -> None:
        pass


def test_a_number_drawn_for_a_failed_document_is_kept_as_voided_with_the_reason(services, pool):
    services.converter = FailingConverter()
    with pytest.raises(ConversionError):
        issuing.issue(services, "assistance-request-written", sample("assistance-request-written"), principal=OPERATOR)
    with services.registry.engine.connect() as conn:
        rows = conn.execute(select(documents)).all()
    assert len(rows) == 1
    failed = rows[0]._mapping
    assert failed["status"] == "voided"
    assert failed["number"].endswith("〕1号")
    assert "LibreOffice could not convert" in failed["void_reason"]
    assert failed["pdf_path"] is None

    services.converter = pool
    result = issuing.issue(services, "assistance-request-written", sample("assistance-request-written"), principal=OPERATOR)
    assert result.document.number.endswith("〕2号")
    assert result.document.serial != failed["serial"]
