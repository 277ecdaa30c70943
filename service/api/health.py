"""GET /healthz: readiness of the registry, the file store, the templates, the converter and signing
(every agency's key loads; the TSA gives a timestamp) and the audit trail's head (it can be read); whether the head
agrees with the chain, and whether the batch queue can be reached ("degraded", still 200, when not)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app

from ..errors import ChengnuoError
from ..forms import CATALOGUE
from ..http.openapi import TEXT, Blueprint
from ..metrics import CONTENT_TYPE
from .schemas import HealthSchema

bp = Blueprint("health", __name__, public=True, description="liveness, readiness and metrics")
log = logging.getLogger(__name__)


@bp.get("/healthz")
@bp.response(200, HealthSchema, description="ready (status ok, or degraded when the audit head disagrees)")
@bp.alt_response(503, schema=HealthSchema, description="not ready")
def healthz() -> tuple[dict[str, Any], int]:
    """Liveness and readiness."""
    svc = current_app.extensions["chengnuo"]
    checks: dict[str, dict] = {}
    try:
        svc.registry.ping()
        checks["registry"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        log.warning("registry check failed: %s", exc)
        checks["registry"] = {"ok": False, "error": "registry unreachable"}
    stored = svc.files.healthy()
    checks["storage"] = {"ok": stored, "kind": svc.settings.storage, **({} if stored else {"error": "file store unreachable"})}
    missing = [spec.template for spec in CATALOGUE.values() if not (svc.settings.templates_dir / spec.template).is_file()]
    checks["templates"] = {"ok": not missing, "missing": missing}
    checks["signing"] = svc.signing_health.check(svc.agencies.by_id.values())
    pool = svc.converter.status()
    checks["converter"] = {"ok": pool["workers"] > 0, **pool}
    try:
        problem = svc.audit.head_problem()
    except ChengnuoError as exc:  # the head cannot be read (its object store is down): no entry can be appended
        log.warning("audit head check failed: %s", exc.en)
        checks["audit_head"] = {"ok": False, "error": "audit head unreachable"}
        problem = None
    ready = all(check["ok"] for check in checks.values())
    # A head that disagrees with the audit chain is evidence for a person, not a reason to stop serving; nor is a batch
    # queue out of reach (new batches are refused, and those under way wait): both make the node "degraded".
    checks["audit"] = {"ok": problem is None, **({"problem": problem} if problem else {})}
    checks["batches"] = svc.batch_queue.status()
    degraded = problem is not None or not checks["batches"]["ok"]
    status = "unavailable" if not ready else "degraded" if degraded else "ok"
    return {"status": status, "checks": checks}, 200 if ready else 503


@bp.get("/metrics")
@bp.response(200, TEXT, content_type="text/plain", description="Prometheus text exposition format")
def metrics() -> Response:
    """Prometheus metrics."""
    return Response(current_app.extensions["chengnuo"].metrics.exposition(), content_type=CONTENT_TYPE)
