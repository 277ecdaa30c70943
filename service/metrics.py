"""Prometheus metrics (GET /metrics): documents issued and failed by form, stage latencies, the
converter queue and its restarts, verifications by verdict. One registry per service instance."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)


class _PoolCollector(Collector):
    def __init__(self, status: Callable[[], Mapping[str, int]]) -> None:
        self.status = status

    def collect(self) -> Iterable:  # type: ignore[override]
        state = self.status()
        yield GaugeMetricFamily("chengnuo_converter_queue_depth", "Requests waiting for a LibreOffice worker", value=state["waiting"])
        yield GaugeMetricFamily("chengnuo_converter_workers", "LibreOffice workers alive", value=state["workers"])
        yield GaugeMetricFamily("chengnuo_converter_idle_workers", "LibreOffice workers idle", value=state["idle"])
        yield CounterMetricFamily("chengnuo_converter_worker_restarts", "LibreOffice workers replaced (died, hung or recycled)",
                                  value=state["restarts"])
        yield CounterMetricFamily("chengnuo_converter_conversions", "Documents converted", value=state["conversions"])


class _DeadlineCollector(Collector):
    """Overdue deadlines per agency and kind, counted from the registry at each scrape (every node sees them all)."""

    def __init__(self, overdue: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        self.overdue = overdue

    def collect(self) -> Iterable:  # type: ignore[override]
        family = GaugeMetricFamily("chengnuo_case_deadlines_overdue", "Open case deadlines past their due date", labels=["agency", "kind"])
        for (agency, kind), count in sorted(self.overdue().items()):
            family.add_metric([agency, kind], count)
        yield family


class Metrics:
    def __init__(self, pool_status: Callable[[], Mapping[str, int]],
                 overdue_deadlines: Callable[[], Mapping[tuple[str, str], int]] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.issued = Counter("chengnuo_documents_issued", "Documents issued", ["form"], registry=self.registry)
        self.failed = Counter("chengnuo_documents_failed", "Documents that failed after their number was drawn",
                              ["form", "error"], registry=self.registry)
        self.stage = Histogram("chengnuo_stage_seconds", "Time spent in each stage of issuing", ["stage"],
                               buckets=_BUCKETS, registry=self.registry)
        self.verifications = Counter("chengnuo_verifications", "Verifications by verdict", ["verdict"], registry=self.registry)
        self.registry.register(_PoolCollector(pool_status))
        if overdue_deadlines is not None:
            self.registry.register(_DeadlineCollector(overdue_deadlines))

    def observe_issue(self, form: str, timings: Mapping[str, float]) -> None:
        self.issued.labels(form=form).inc()
        for stage, seconds in timings.items():
            self.stage.labels(stage=stage).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
