"""Templates of the commitment letters (晋市政办〔2021〕8号 附件4; 郑政办〔2021〕17号) and the three
信用承诺书 (郏政务和大数据〔2022〕8号 templates, 审批替代型 described there).

Fixed sentences are the seeds' own words, with full-width punctuation; blanks became fields.
"""

from __future__ import annotations

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from .docx_builder import FormDocument

EN = "\u2002"  # en space: pads three-character labels to the width of four
BOX_ON, BOX_OFF = "☑", "☐"
ONE_FOOTNOTE = "（本文书一式两份，行政机关与申请人各执一份。）"


def _check(condition: str, yes: str, no: str) -> str:
    """Both options with the chosen one ticked, in ONE inline Jinja string (docxtpl needs one run)."""
    return (
        f"{{% if {condition} %}}{BOX_ON} {yes}　{BOX_OFF} {no}"
        f"{{% else %}}{BOX_OFF} {yes}　{BOX_ON} {no}{{% endif %}}"
    )


def _label(doc: FormDocument, label: str, value: str) -> None:
    doc.mixed([(label, False), (value, True)])


def _numbered(doc: FormDocument, items: str, var: str = "item") -> None:
    doc.loop(f"{{%p for {var} in {items} %}}", [f"{{{{ loop.index }}}}. {{{{ {var} }}}}"])


def _agency_block(doc: FormDocument, heading: str) -> None:
    doc.subheading(heading)
    _label(doc, "名　　称：", "{{ agency.name }}")
    _label(doc, f"联{EN}系{EN}人：", "{{ agency_contact.name }}")
    _label(doc, "联系方式：", "{{ agency_contact.phone }}")


def _disclosure(doc: FormDocument, heading: str) -> None:
    doc.subheading(heading)
    doc.para("承诺书是否公开：" + _check("disclosure.public", "公开", "不公开"))
    doc.control("{%p if disclosure.public %}")
    doc.para("公开范围：{{ disclosure.scope }}")
    doc.para("公开时限：{{ disclosure.period }}")
    doc.control("{%p endif %}")


def _signatures(doc: FormDocument, left: tuple[str, str]) -> None:
    doc.blank()
    doc.two_columns(
        [
            (left[0], "行政机关（公章）："),
            ("", ""),
            (left[1], "经办人："),
            ("", ""),
            ("日期：{{ sign_date|cn_date }}", "日期：{{ sign_date|cn_date }}"),
        ]
    )
    doc.blank()
    doc.note(ONE_FOOTNOTE)


# --- 证明事项告知承诺书 (附件4) -----------------------------------------------------------------------


def commitment_letter() -> FormDocument:
    doc = FormDocument()
    doc.title("证明事项告知承诺书")
    doc.subtitle("（{{ matter }}）")
    doc.number_line("{{ number }}")

    doc.heading("一、基本信息")
    doc.subheading("（一）申请人")
    _label(doc, "姓　　名：", "{{ applicant.name }}")
    _label(doc, "联系方式：", "{{ applicant.phone }}")
    _label(doc, "证件类型：", "{{ applicant.id_type }}")
    _label(doc, "证件编号：", "{{ applicant.id_number }}")
    _agency_block(doc, "（二）行政机关")
    doc.control("{%p if proxy %}")
    doc.subheading("（三）代为承诺人")
    _label(doc, "姓　　名：", "{{ proxy.name }}")
    _label(doc, "证件类型：", "{{ proxy.id_type }}")
    _label(doc, "证件编号：", "{{ proxy.id_number }}")
    _label(doc, "授权委托书：", "{{ proxy.authorisation }}")
    doc.control("{%p endif %}")

    doc.heading("二、行政机关告知")
    doc.subheading("（一）证明事项名称")
    doc.para("{{ proof_item }}")
    doc.subheading("（二）证明用途")
    doc.para("{{ proof_purpose }}")
    doc.subheading("（三）设定证明的依据")
    doc.para("{{ legal_basis }}")
    doc.subheading("（四）证明的内容（许可条件和材料要求）")
    doc.para("{{ proof_content }}")
    doc.subheading("（五）申请人是否愿意就上述事项采取承诺制的方式")
    doc.para(_check("willing", "1. 是", "2. 否"))
    doc.subheading("（六）承诺的方式")
    doc.para("本证明事项采用书面承诺方式，申请人愿意作出承诺的，应当向行政机关提交本人签字后的告知承诺书原件。")
    doc.para(
        "本证明事项必须由申请人作出承诺，"
        f"{{% if proxy_allowed %}}{BOX_OFF} 不可（{BOX_ON} 可）{{% else %}}{BOX_ON} 不可（{BOX_OFF} 可）{{% endif %}}"
        "代为承诺。"
    )
    doc.subheading("（七）承诺的效力")
    doc.para(
        "申请人书面承诺已经符合告知的条件、要求，并愿意承担不实承诺的法律责任后，"
        "行政机关不再索要有关证明而依据书面承诺办理相关事项。"
    )
    doc.subheading("（八）不实承诺的责任")
    doc.para(
        "证明事项告知承诺失信行为信息纳入{{ credit_catalogue }}信息目录，"
        "对执意隐瞒真实情况、提供虚假承诺办理有关事项的，依法作出如下处理："
    )
    _numbered(doc, "consequences", "measure")
    _disclosure(doc, "（九）承诺的公开")

    doc.heading("三、申请人承诺")
    doc.para("申请人现作出下列承诺：")
    doc.para("（一）已经知晓行政机关告知的全部内容；")
    doc.para("（二）自身已符合行政机关告知的条件、要求，具体是：")
    _numbered(doc, "conditions_met", "condition")
    doc.para(
        "（三）自愿授权公开信用承诺书的内容，并在有关政府部门网站上公示，同意按照信用信息管理的要求，"
        "将信用承诺信息纳入信用记录，并通过各级信用网站向社会公开，申请人已知晓告知事项、"
        "已符合相关条件、愿意承担不实承诺的法律责任；"
    )
    doc.para("（四）本承诺书中填写的基本信息真实、准确；")
    doc.para("（五）上述承诺是申请人真实的意思表示。")
    doc.para("本人愿意配合对上述内容的调查、核查、核验。")
    _signatures(doc, ("申请人签名：", "（捺印/盖章）"))
    return doc


# --- 涉企经营许可事项告知承诺书 (described: 郑政办〔2021〕17号 四、五(二)(三)(四)) -----------------------


def business_permit_commitment() -> FormDocument:
    doc = FormDocument()
    doc.title("涉企经营许可事项告知承诺书")
    doc.subtitle("（{{ matter }}）")
    doc.number_line("{{ number }}")

    doc.heading("一、基本信息")
    doc.subheading("（一）申请人")
    _label(doc, "名　　称：", "{{ applicant.name }}")
    _label(doc, "统一社会信用代码：", "{{ applicant.credit_code }}")
    _label(doc, "法定代表人：", "{{ applicant.legal_representative }}")
    _label(doc, "联系方式：", "{{ applicant.phone }}")
    _agency_block(doc, "（二）行政机关")

    doc.heading("二、行政机关告知")
    doc.subheading("（一）许可事项名称")
    doc.para("{{ matter }}")
    doc.subheading("（二）设定依据")
    doc.para("{{ legal_basis }}")
    doc.subheading("（三）许可条件")
    _numbered(doc, "permit_conditions", "condition")
    doc.subheading("（四）材料要求")
    _numbered(doc, "required_materials", "material")
    doc.subheading("（五）承诺的方式")
    doc.para(
        "本许可事项采用书面承诺方式，申请人愿意作出承诺的，应当向行政机关提交加盖企业公章"
        "并由法定代表人签字的告知承诺书原件。"
    )
    doc.para("申请人不愿承诺或者无法承诺的，按照一般程序办理涉企经营许可事项。")
    doc.subheading("（六）承诺的效力")
    doc.para("申请人自愿签署告知承诺书并按要求提交材料的，行政机关应当当场作出行政许可决定。")
    doc.subheading("（七）事中事后监管措施")
    _numbered(doc, "supervision", "measure")
    doc.subheading("（八）不实承诺的责任")
    doc.para(
        "涉企经营许可事项告知承诺失信行为信息纳入{{ credit_catalogue }}信息目录，"
        "对执意隐瞒真实情况、提供虚假承诺办理有关事项的，依法作出如下处理："
    )
    _numbered(doc, "consequences", "measure")
    _disclosure(doc, "（九）承诺的公开")

    doc.heading("三、申请人承诺")
    doc.para("申请人现作出下列承诺：")
    doc.para("（一）已经知晓行政机关告知的全部内容；")
    doc.para("（二）已符合行政机关告知的许可条件，并已按要求提交材料；")
    doc.para("（三）愿意承担不实承诺的法律责任；")
    doc.para("（四）本承诺书中填写的基本信息真实、准确；")
    doc.para("（五）上述承诺是申请人真实的意思表示。")
    doc.para("本企业愿意配合对上述内容的调查、核查、核验。")
    _signatures(doc, ("申请人（企业盖章）：", "法定代表人（签字）："))
    return doc


# --- 信用承诺书 (郏政务和大数据〔2022〕8号) -----------------------------------------------------------------


def _credit_head(doc: FormDocument, kind: str) -> None:
    doc.title("信用承诺书")
    doc.subtitle(f"（{kind}）")
    doc.mixed([("政务服务中心", False), ("{{ window }}", True), ("窗口：", False)], indent=False)


def _credit_tail(doc: FormDocument, *, proxy: bool = False) -> None:
    """承诺主体 lines and the date, kept together (and with the last promise) on one page."""
    lines = [
        "承诺主体名称（行政相对人）：{{ applicant.name }}",
        "证件类型：{{ applicant.id_type }}",
        "统一社会信用代码（身份证号码）：{{ applicant.id_number }}",
        "主管部门：{{ department }}",
    ]
    if proxy:
        lines.append("委托代理人：{% if proxy %}{{ proxy.name }}（身份证号码：{{ proxy.id_number }}）{% endif %}")
    last_promise = doc.doc.paragraphs[-1]
    last_promise.paragraph_format.keep_with_next = True
    for i, text in enumerate(lines):
        paragraph = doc.para(text, indent=False)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT  # a long unbreakable number must not be spread out
        paragraph.paragraph_format.keep_with_next = True
        if i == 0:
            paragraph.paragraph_format.space_before = Pt(14)
    doc.right("{{ sign_date|cn_date }}")


def credit_commitment_disclosure() -> FormDocument:
    doc = FormDocument()
    _credit_head(doc, "主动公示型")
    doc.mixed(
        [
            ("本单位（人）申请办理", False),
            ("{{ matter }}", True),
            ("事项，为共同构建社会诚信体系，维护良好的市场经济环境，营造诚实守信的信用环境，现做出如下承诺：", False),
        ]
    )
    doc.para("一、保证所填报的信息及提供的申请材料均真实、准确、合法、有效。")
    doc.para("二、保证不以欺骗、贿赂等不正当手段取得审批手续。")
    doc.para(
        "三、获得审批手续后，严格按照确定的条件、范围、程序等，规范操作、规范管理，诚实守信，"
        "不造假、不失信，不超越审批范围进行活动。"
    )
    doc.para(
        "四、绝不涂改、倒卖、出租、出借审批文件、行政许可证件或者以其他形式非法转让审批文件、行政许可证件。"
    )
    doc.para(
        "五、自觉接受社会各界的监督，依法接受有关行政机关的事中事后监管，并如实提供有关情况和材料。"
        "本《承诺书》同意向社会公开，对违反以上承诺所造成的后果，自愿承担相应法律责任。"
    )
    _credit_tail(doc)
    return doc


def credit_commitment_tolerance() -> FormDocument:
    doc = FormDocument()
    _credit_head(doc, "容缺受理型")
    doc.mixed(
        [
            ("本单位（人）申请办理", False),
            ("{{ matter }}", True),
            ("事项，因", False),
            ("{{ missing_text }}", True),
            ("缺乏，特申请容缺受理。现就相关事宜作出如下承诺，并愿意承担法律责任：", False),
        ]
    )
    doc.para("一、所作承诺意思表示真实；")
    doc.para("二、已经知晓告知的全部内容；")
    doc.para("三、提供的所有申请材料真实有效；")
    doc.mixed(
        [
            ("四、在容缺补正时限", False),
            ("{{ deadline|cn_date }}", True),
            ("前提交补正的全部材料，逾期未提交作终止退件处理；", False),
        ]
    )
    doc.para("五、若事项涉及生产建设，在未能取得正式批准文件之前，承诺不开展相关生产建设活动；")
    doc.para("六、愿意承担失信产生的后果。")
    _credit_tail(doc, proxy=True)
    return doc


def credit_commitment_substitution() -> FormDocument:
    doc = FormDocument()
    _credit_head(doc, "审批替代型")
    doc.mixed(
        [
            ("本单位（人）申请办理", False),
            ("{{ matter }}", True),
            ("事项，该事项实行告知承诺制。本单位（人）自愿以本承诺书替代下列材料（条件）：", False),
        ]
    )
    _numbered(doc, "substituted", "entry")
    doc.para("现就相关事宜作出如下承诺，并愿意承担法律责任：")
    doc.para("一、所作承诺意思表示真实，已经知晓告知的全部内容；")
    doc.para("二、已符合审批的条件、标准和要求，以上被替代的材料（条件）所载明的情况真实、准确；")
    doc.para("三、保证所填报的信息及提供的申请材料均真实、准确、合法、有效；")
    doc.para(
        "四、自觉接受有关行政机关的事中事后核查和“履约践诺”监督检查，并如实提供有关情况和材料；"
    )
    doc.para(
        "五、经核查发现实际情况与承诺内容不符的，接受限期整改；整改不到位或者拒绝整改的，"
        "同意纳入失信记录，实施相应的信用惩戒，并在信用平台向社会公示；"
    )
    doc.para("六、本《承诺书》同意向社会公开，对违反以上承诺所造成的后果，自愿承担相应法律责任。")
    _credit_tail(doc)
    return doc


TEMPLATES = {
    "commitment-letter": commitment_letter,
    "business-permit-commitment": business_permit_commitment,
    "credit-commitment-disclosure": credit_commitment_disclosure,
    "credit-commitment-tolerance": credit_commitment_tolerance,
    "credit-commitment-substitution": credit_commitment_substitution,
}
