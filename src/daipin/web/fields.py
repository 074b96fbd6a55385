"""A refused field as a person reads it: the machine's field path (`members[0].id_number`, `eligible.adults`,
`household_id`) as its label in the page's language (第1名成员 · 身份证号). The API keeps the machine name in its
`field`; pages show only labels, and a part with no label is left out rather than shown raw."""

from __future__ import annotations

import re

# Each part of a field path by its name: (Chinese, English).
LABELS: dict[str, tuple[str, str]] = {
    # supervision and credit (SUPERVISION.md)
    "cadre": ("村干部", "village cadre"),
    "deadline": ("整改期限", "deadline"),
    "due": ("应付款项", "due"),
    "finding": ("风险预警", "finding"),
    "findings": ("风险预警", "findings"),
    "from_household": ("原户", "household split from"),
    "holder_name": ("账户户名", "account holder"),
    "inspected_on": ("检查日期", "inspection date"),
    "listing": ("失信认定", "listing"),
    "matter": ("议事事项", "matter"),
    "outstanding_fen": ("未付金额", "amount outstanding"),
    "person": ("人员", "person"),
    "policy": ("保单", "insurance policy"),
    "rectification": ("整改情况", "rectification"),
    "subsidy": ("保费补贴", "premium subsidy"),
    "subsidy_fen": ("补贴金额", "subsidy amount"),
    "insured_sum_fen": ("保险金额", "insured sum"),
    "step": ("处理步骤", "step"),
    "set": ("设置项", "setting"),
    "acknowledge_warning": ("确认知悉信用警示", "acknowledge the credit warning"),
    "actor": ("操作人权限", "your permissions"),
    "adults": ("成年人数", "adults"),
    "against": ("反对票", "votes against"),
    "abstain": ("弃权票", "abstentions"),
    "amount_fen": ("金额", "amount"),
    "asset": ("资产", "asset"),
    "asset_id": ("资产", "asset"),
    "attendees": ("参会人员", "attendees"),
    "audit_ref": ("审计报告编号", "audit report reference"),
    "bank_account": ("银行账号", "bank account"),
    "birth_date": ("出生日期", "birth date"),
    "buckets": ("分配科目", "buckets"),
    "cap_per_household_fen": ("每户上限", "cap per household"),
    "cash_available_fen": ("可用现金", "cash available"),
    "category": ("产业类别", "category"),
    "check_code": ("查询码", "check code"),
    "code": ("编号", "code"),
    "comments": ("审核意见", "comments"),
    "contract": ("协议", "contract"),
    "contract_id": ("协议", "contract"),
    "counterparty": ("相对方", "counterparty"),
    "county": ("区县", "county"),
    "county_code": ("所属区县", "county"),
    "coverage": ("保险范围", "coverage"),
    "daily_wage_fen": ("日工资", "daily wage"),
    "days": ("天数", "days"),
    "decision": ("决定", "decision"),
    "destination": ("迁往地", "destination"),
    "document": ("测算文档", "document"),
    "effective_from": ("生效日期", "effective from"),
    "eligible": ("应到", "eligible"),
    "eligible_adults": ("应到成年人数", "eligible adults"),
    "eligible_households": ("应到户数", "eligible households"),
    "eligible_members": ("应到人数", "eligible members"),
    "eligible_representatives": ("应到代表人数", "eligible representatives"),
    "end_date": ("终止日期", "end date"),
    "entity": ("实施主体", "entity"),
    "entity_id": ("实施主体", "entity"),
    "exit_year": ("脱贫年度", "exit year"),
    "expected_return": ("预期年收益率", "expected return"),
    "file": ("文件", "file"),
    "first_secretary_present": ("第一书记是否到会", "first secretary present"),
    "from_date": ("起始日期", "from date"),
    "funding": ("资金来源", "funding"),
    "funding_source": ("资金来源", "funding source"),
    "health_note": ("健康状况", "health note"),
    "held_at": ("召开时间", "held at"),
    "household": ("农户", "household"),
    "household_id": ("农户", "household"),
    "household_no": ("户编号", "household number"),
    "households": ("户数", "households"),
    "id_number": ("身份证号", "ID number"),
    "insurer": ("保险机构", "insurer"),
    "justification": ("理由", "justification"),
    "key": ("设置项", "setting"),
    "kind": ("类别", "kind"),
    "labor": ("劳动能力", "labor ability"),
    "legal_representative": ("法定代表人", "legal representative"),
    "level": ("层级", "level"),
    "member": ("成员", "member"),
    "members": ("家庭成员", "members"),
    "minutes_ref": ("会议记录", "minutes"),
    "model": ("利益联结模式", "benefit model"),
    "name": ("名称", "name"),
    "note": ("备注", "note"),
    "on": ("日期", "date"),
    "operator_entity_id": ("经营主体", "operating entity"),
    "owner_entity_id": ("所有者（主体）", "owner entity"),
    "owner_region_code": ("所有者（村或乡镇）", "owner region"),
    "paid_on": ("支付日期", "paid on"),
    "password": ("密码", "password"),
    "payee": ("受益方", "payee"),
    "payee_household_id": ("受益户", "payee household"),
    "payee_household_no": ("受益户", "payee household"),
    "payee_village_code": ("受益村", "payee village"),
    "payment_ref": ("银行流水号", "bank reference"),
    "period_end": ("期间止", "period end"),
    "period_start": ("期间起", "period start"),
    "person_id": ("人员", "person"),
    "phone": ("联系电话", "phone"),
    "place": ("地点", "place"),
    "points": ("贡献积分", "points"),
    "policy_no": ("保单号", "policy number"),
    "pool_fen": ("可分配收益", "pool"),
    "post": ("公益岗位", "post"),
    "poverty_cause": ("致贫原因", "poverty cause"),
    "present_adults": ("实到成年人数", "adults present"),
    "present_households": ("实到户数", "households present"),
    "present_members": ("实到人数", "members present"),
    "present_representatives": ("实到代表人数", "representatives present"),
    "profit_fen": ("利润", "profit"),
    "project": ("项目", "project"),
    "project_id": ("项目", "project"),
    "reason": ("原因", "reason"),
    "receipt_no": ("回执编号", "receipt number"),
    "region": ("地区", "region"),
    "region_code": ("所在乡镇或村", "region"),
    "relation": ("与户主关系", "relation"),
    "report_ref": ("评估报告编号", "report reference"),
    "representatives": ("代表人数", "representatives"),
    "responsible_person": ("责任人", "responsible person"),
    "role": ("角色", "role"),
    "rule": ("规则", "rule"),
    "scheduled_at": ("会议时间", "scheduled at"),
    "share": ("比例", "share"),
    "sex": ("性别", "sex"),
    "since": ("起始日期", "since"),
    "source": ("来源", "source"),
    "start_date": ("起始日期", "start date"),
    "start_year": ("开工年度", "start year"),
    "status": ("状态", "status"),
    "status_since": ("状态起始日期", "status since"),
    "terms": ("协议条款", "terms"),
    "text": ("内容", "text"),
    "title": ("标题", "title"),
    "to_date": ("结束日期", "to date"),
    "township_code": ("所属乡镇", "township"),
    "type": ("类型", "type"),
    "username": ("用户名", "username"),
    "uscc": ("统一社会信用代码", "unified social credit code"),
    "valid_from": ("保险起期", "valid from"),
    "valid_to": ("保险止期", "valid to"),
    "value_fen": ("价值", "value"),
    "valued_on": ("评估日期", "valued on"),
    "valuer": ("评估机构", "valuer"),
    "version": ("版本", "version"),
    "village": ("村", "village"),
    "village_code": ("所属村", "village"),
    "votes_for": ("赞成票", "votes for"),
    "window_days": ("公示天数", "notice days"),
    "year": ("年度", "year"),
    "at": ("时间", "time"),
    "attendance": ("出席情况", "attendance"),
    "ballots": ("表决票", "ballots"),
    "by": ("操作人", "by"),
    "errors": ("错误清单", "errors"),
    "facts": ("记录内容", "facts"),
    "format": ("文件格式", "format"),
    "from": ("起始", "from"),
    "hash": ("摘要", "digest"),
    "heir_household_id": ("继承户", "heir household"),
    "households_per_village": ("每村户数", "households per village"),
    "index": ("序号", "index"),
    "indices": ("序号", "indices"),
    "into": ("目标", "into"),
    "line_id": ("支付明细", "payment line"),
    "matter_id": ("事项", "matter"),
    "meeting": ("会议", "meeting"),
    "new_household_id": ("新受益户", "new household"),
    "new_password": ("新密码", "new password"),
    "notice": ("公示", "notice"),
    "objection_id": ("异议", "objection"),
    "old_password": ("原密码", "old password"),
    "out": ("输出文件", "output file"),
    "outcome": ("结果", "outcome"),
    "part": ("部分", "part"),
    "per_page": ("每页条数", "lines per page"),
    "q": ("检索内容", "search"),
    "reasons": ("理由", "reasons"),
    "run_id": ("测算记录", "run"),
    "sample": ("示例数据", "sample data"),
    "size": ("规模", "size"),
    "user": ("账户", "account"),
    "votes": ("表决", "votes"),
    "performance_mode": ("绩效系数来源", "source of the performance coefficient"),
    "performance_on_time_weight": ("按期兑付率权重", "weight of dues paid on time"),
    "performance_income_weight": ("户均收益权重", "weight of income per household"),
    "performance_finding_penalty": ("每个未销号问题扣减", "deduction per open finding"),
    "performance_min": ("绩效系数下限", "least coefficient"),
    "performance_max": ("绩效系数上限", "greatest coefficient"),
    "performance_basis": ("绩效系数计算依据", "basis of the performance coefficients"),
    # premium subsidies paid through a payment batch (issue 17)
    "premium_fen": ("保费", "premium"),
    "subsidies": ("保费补贴清单", "premium subsidies"),
}
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _term_labels() -> dict[str, tuple[str, str]]:
    """A contract's terms by their names in the contract rules (`terms.annual_rent_fen` is 年租金)."""
    from daipin.domain.contracts import TERMS

    return {t.name: (t.zh, t.en) for specs in TERMS.values() for t in specs}


TERM_LABELS = _term_labels()


def field_label(field: str | None, locale: str = "zh") -> str:
    """The field path's label: its named parts' labels joined (a list item as 第N项), the parts that have none
    left out; "" when no part has a label."""
    if not field:
        return ""
    en = locale == "en"
    parts: list[str] = []
    named = False
    for name, index in _PART.findall(field):
        if index:
            n = int(index) + 1
            parts.append(f"#{n}" if en else f"第{n}项")
        elif parts[-1:] == [LABELS["terms"][1 if en else 0]] and (key := name.removeprefix("t_")) in TERM_LABELS:
            parts.append(TERM_LABELS[key][1 if en else 0])
            named = True
        elif (key := name[2:] if name.startswith("t_") and name[2:] in TERM_LABELS else name) in LABELS:
            parts.append(LABELS[key][1 if en else 0])
            named = True
        elif key in TERM_LABELS:
            parts.append(TERM_LABELS[key][1 if en else 0])
            named = True
    return " · ".join(parts) if named else ""


def page_message(message: str, field: str | None, locale: str = "zh") -> str:
    """An error's message as a page shows it: the machine's field name, where the message quotes it ("输入有误：
    members.0.name 缺少此项"), written as its label ("输入有误：家庭成员 · 第1项 · 名称 缺少此项")."""
    if not field or field not in message:
        return message
    label = field_label(field, locale)
    return message.replace(field, label) if label else message


def error_text(error: object, locale: str = "zh") -> str:
    """A `DaipinError`'s message in the page's language, its field named by its label."""
    zh = str(getattr(error, "message_zh", "") or error)
    en = str(getattr(error, "message_en", "") or zh)
    return page_message(en if locale == "en" else zh, getattr(error, "field", None), locale)
