"""A case's deadlines, in Chinese working days (``workdays.py``), each with its legal source.

A deadline counted across a year whose holiday arrangement nobody has published is kept, but marked not
exact, and its note says which year was counted Monday to Friday: the case page and the API show it, so
nobody takes a guess for a date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..registry.cases import DeadlineRecord, NewDeadline
from ..workdays import add_working_days, years_without_data

_S = "晋城市人民政府办公室 晋市政办〔2021〕8号"

KINDS: dict[str, tuple[str, str]] = {
    # kind: (what, legal source)
    "letter": ("送达告知承诺书", f"{_S} 四(三)3：通过信函、电子数据交换等方式提出申请的，收到申请后3个工作日内送达告知承诺书"),
    "decision": ("当场作出许可决定", "郑州市人民政府办公厅 郑政办〔2021〕17号 五(四)：申请人签署告知承诺书并按要求提交材料的，当场作出行政许可决定"),
    "verification": ("完成核查", f"{_S} 四(四)：明确核查时间；核查时限依事项目录"),
    "assistance_reply": ("协助核查回复", f"{_S} 附件7 申请行政协助函：请于所定工作日内给予书面回复"),
    "rectification": ("限期整改递交材料", f"{_S} 附件6 现场核验记录单：请于所定工作日内将有关证明材料递交"),
    "materials": ("容缺材料补正", "扎兰屯市“信易批” 三.3、三.5；容缺受理信用承诺书所定补正时限"),
    "credit_report": ("信用信息归集", f"{_S} 四(七)：信用承诺信息于结果生效7个工作日内归集到市信用信息共享平台"),
    "complaint": ("投诉举报处理", f"{_S} 四(三)3：投诉举报自接到之日起5个工作日内调查处理，并告知投诉举报人"),
}
LETTER_DAYS, CREDIT_REPORT_DAYS, COMPLAINT_DAYS = 3, 7, 5


def working(kind: str, start: dt.date, days: int, *, ref: str | None = None, source: str | None = None) -> NewDeadline:
    """The deadline ``days`` working days after ``start`` (``0``: on ``start`` itself)."""
    due, exact = add_working_days(start, days)
    return NewDeadline(kind=kind, start_on=start, due_on=due, working_days=days, exact=exact,
                       unknown_years=years_without_data(start, due) if not exact else [], source=source or KINDS[kind][1], ref=ref)


def on_date(kind: str, start: dt.date, due: dt.date, *, ref: str | None = None, source: str | None = None) -> NewDeadline:
    """A deadline on a calendar date someone set (容缺 materials by the date in the commitment)."""
    return NewDeadline(kind=kind, start_on=start, due_on=due, working_days=None, exact=True, unknown_years=[],
                       source=source or KINDS[kind][1], ref=ref)


@dataclass(frozen=True)
class DeadlineView:
    kind: str
    label: str
    ref: str | None
    start_on: dt.date
    working_days: int | None
    due_on: dt.date
    source: str
    done_on: dt.date | None
    overdue: bool
    due_soon: bool
    exact: bool
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def view(record: DeadlineRecord, today: dt.date, soon_days: int) -> DeadlineView:
    due = dt.date.fromisoformat(record.due_on)
    done = dt.date.fromisoformat(record.done_on) if record.done_on else None
    note = ""
    if not record.exact:
        years = "、".join(f"{year}年" for year in record.unknown_years)
        note = (f"{years}法定节假日安排尚未公布，此日期按周一至周五推算，公布后须核对 / the holidays of "
                f"{', '.join(map(str, record.unknown_years))} are not published yet: counted Monday to Friday, check it once they are")
    return DeadlineView(
        kind=record.kind, label=KINDS.get(record.kind, (record.kind, ""))[0], ref=record.ref, start_on=dt.date.fromisoformat(record.start_on),
        working_days=record.working_days, due_on=due, source=record.source, done_on=done,
        overdue=done is None and due < today, due_soon=done is None and today <= due <= today + dt.timedelta(days=soon_days),
        exact=bool(record.exact), note=note,
    )
