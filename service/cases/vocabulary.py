"""The procedure's words (000 四; 002 四(二)(三)(四)、附件2; 004 五(三)(四)(八)), as codes for calling systems and
Chinese for people.

    received ─credit-check(good)─▶ credit_checked ─letter issued─▶ notified ─letter signed─▶ committed
        │            └─(bad record, blacklist, false commitment)─▶ ordinary ─decision─▶ closed
        └─ withdrawal (any state before the decision) ─▶ ordinary
    committed ─decision(grant)─▶ decided ─verification document─▶ verifying ─result(true)─▶ verified ─close(fulfilled)─▶ closed
              └─decision(refuse)─▶ closed            │                      ├─result(rectify)─▶ rectifying ─result─▶ …
                                                     │                      └─result(false)─▶ false_found ─close(revoked|terminated)─▶ closed
                                                     └─ exempt item: close(fulfilled) straight from decided
    容缺受理: close(returned) from any state after the commitment, once the materials are overdue and a reminder was sent.
"""

from __future__ import annotations

CHANNELS = {"window": "窗口", "mail": "信函/邮寄", "online": "网上"}
REMOTE_CHANNELS = ("mail", "online")  # the letter is due within 3 working days of receipt

COMMITMENT_TYPES = {
    "proof": "证明事项告知承诺",
    "permit": "涉企经营许可告知承诺",
    "credit_disclosure": "信用承诺（主动公示型）",
    "credit_tolerance": "信用承诺（容缺受理型）",
    "credit_substitution": "信用承诺（审批替代型）",
}
ITEM_KIND_OF = {"proof": "proof", "permit": "permit"}  # credit commitments may use either kind of item
LETTER_FORM = {
    "proof": "commitment-letter",
    "permit": "business-permit-commitment",
    "credit_disclosure": "credit-commitment-disclosure",
    "credit_tolerance": "credit-commitment-tolerance",
    "credit_substitution": "credit-commitment-substitution",
}
VERIFICATION_FORMS = {
    "internal": ("internal-verification",),
    "onsite": ("onsite-verification",),
    "assistance": ("assistance-request-written", "assistance-request-visit"),
}

CREDIT_RESULTS = {
    "good": "无较严重的不良信用记录",
    "serious_bad_record": "有较严重的不良信用记录",
    "blacklisted": "列入失信名单",
    "false_commitment": "曾作出虚假承诺",
}
CREDIT_SOURCES_HINT = "如：信用中国网站查询、信用中国（山西）查询、纳税信用联合激励卡"

STATES = {
    "received": "已受理",
    "credit_checked": "信用核查通过",
    "notified": "已告知",
    "committed": "已承诺",
    "decided": "已决定（准予）",
    "verifying": "核查中",
    "rectifying": "限期整改中",
    "verified": "核查属实",
    "false_found": "承诺不实",
    "ordinary": "按一般程序办理",
    "closed": "已结案",
}
BEFORE_DECISION = ("received", "credit_checked", "notified", "committed")

DECISIONS = {"grant": "准予", "refuse": "不予"}
RESULTS = {"true": "属实", "false": "不实", "rectify": "限期整改"}
OUTCOMES = {
    "fulfilled": "履约",
    "revoked": "撤销行政决定",
    "terminated": "终止办理",
    "returned": "终止退件",
    "refused": "不予办理",
    "ordinary_granted": "按一般程序准予",
    "ordinary_refused": "按一般程序不予",
}
FALSE_OUTCOMES = ("revoked", "terminated", "returned")  # 失信: the applicant goes on the service's list (003 三.5)
MATERIAL_ACTIONS = {"supplied": "已补齐材料", "reminded": "已催告"}

STEP_LABELS = {  # the steps as the history (the audit chain's case.* entries) names them
    "created": "受理", "credit_check": "信用核查", "letter": "发出告知承诺书", "committed": "申请人承诺（签署完成）", "decision": "作出决定",
    "verification_document": "出具核查文书", "verification_result": "核查结果", "withdrawal": "撤回承诺", "close": "结案",
    "materials_supplied": "容缺材料已补齐", "materials_reminded": "催告补正容缺材料", "credit_report": "信用信息归集",
    "complaint": "投诉举报", "complaint_resolved": "投诉举报已处理", "deadline_missed": "期限届满未办结",
}
