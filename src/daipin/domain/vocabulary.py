"""Every code a person can see, defined once with its Chinese and English label (pages, PDFs, exports, CLI, API)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

LANGS = ("zh", "en")


@dataclass(frozen=True, slots=True)
class Entry:
    """One code of a code set: its Chinese and English label, and other words accepted for it on input."""

    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()


class Vocab(Mapping[str, str]):
    """One code set, in the order people see it; as a mapping, code → Chinese label.

    `zh(code)` and `en(code)` show an unknown code as it is (a stored value from elsewhere is still shown),
    while `vocab[code]` refuses it (KeyError), for the places where an unknown code is a bug.
    """

    __slots__ = ("kind", "entries", "codes", "_zh", "_en", "_readings")

    def __init__(self, kind: str, entries: Iterable[Entry | tuple[str, str, str]]) -> None:
        self.kind = kind
        self.entries: tuple[Entry, ...] = tuple(e if isinstance(e, Entry) else Entry(*e) for e in entries)
        self.codes: tuple[str, ...] = tuple(e.code for e in self.entries)
        if not self.entries:
            raise ValueError(f"{kind}: a code set needs codes")
        if len(set(self.codes)) != len(self.codes):
            raise ValueError(f"{kind}: a code is listed twice")
        for e in self.entries:
            if not (e.code and e.zh.strip() and e.en.strip()):
                raise ValueError(f"{kind}.{e.code}: every code needs a Chinese and an English label")
        self._zh = {e.code: e.zh for e in self.entries}
        self._en = {e.code: e.en for e in self.entries}
        # A code reads as itself; a word two codes share (two "日期") reads as neither.
        words: dict[str, set[str]] = {}
        for e in self.entries:
            for text in (e.zh, *e.aliases):
                words.setdefault(text, set()).add(e.code)
        self._readings = {text: next(iter(codes)) for text, codes in words.items() if len(codes) == 1}
        self._readings.update((c, c) for c in self.codes)

    # Mapping: code → Chinese label
    def __getitem__(self, code: str) -> str:
        return self._zh[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._zh

    def __repr__(self) -> str:
        return f"Vocab({self.kind!r}, {list(self.codes)!r})"

    def zh(self, code: object) -> str:
        """The Chinese label; "" for no code, an unknown code as it is."""
        if code is None or code == "":
            return ""
        return self._zh.get(str(code), str(code))

    def en(self, code: object) -> str:
        """The English label; "" for no code, an unknown code as it is."""
        if code is None or code == "":
            return ""
        return self._en.get(str(code), str(code))

    def label(self, code: object, lang: str = "zh") -> str:
        return self.en(code) if lang == "en" else self.zh(code)

    def labels(self, lang: str = "zh") -> dict[str, str]:
        """A new dict code → label, in order."""
        return dict(self._en if lang == "en" else self._zh)

    def choices(self, lang: str = "zh") -> list[tuple[str, str]]:
        """(code, label) pairs in order, for a select box."""
        return list(self.labels(lang).items())

    def read(self, text: object) -> str | None:
        """The code a person wrote: the code itself, its Chinese label or one of its other accepted words."""
        return self._readings.get(text) if isinstance(text, str) else None

    def readings(self) -> dict[str, str]:
        """Every accepted word → its code (the codes, the Chinese labels, the other words)."""
        return dict(self._readings)

    def subset(self, kind: str, codes: Iterable[str]) -> Vocab:
        """Some of the codes, with the same labels (`KeyError` for a code not in this set)."""
        by_code = {e.code: e for e in self.entries}
        return Vocab(kind, (by_code[c] for c in codes))

    def extended(self, kind: str, entries: Iterable[Entry | tuple[str, str, str]]) -> Vocab:
        """These codes and some more."""
        return Vocab(kind, (*self.entries, *entries))

    def require(self, enum: type[Enum]) -> None:
        """Refuses an enum whose values are not exactly these codes, so no member goes without its labels."""
        values = [str(m.value) for m in enum]
        if sorted(values) != sorted(self.codes):
            missing = sorted(set(values) - set(self.codes))
            extra = sorted(set(self.codes) - set(values))
            raise ValueError(f"{enum.__name__} and the {self.kind} vocabulary differ: "
                             f"no labels for {missing}, labels for no member {extra}")


# ---------------------------------------------------------------- households and people

HOUSEHOLD_STATUS = Vocab("household_status", (
    Entry("poor", "贫困户", "Poor household", ("未脱贫", "未脱贫户")),
    Entry("monitored", "监测户", "Monitored household",
          ("监测对象", "边缘易致贫户", "脱贫不稳定户", "突发严重困难户")),
    Entry("exited", "脱贫户", "Household out of poverty", ("已脱贫",)),
    Entry("non_poor", "一般户", "Non-poor household", ("非贫困户",)),
))
# The statuses a benefit is meant for (R2.x): a poor or a monitored household.
ELIGIBLE_STATUSES = ("poor", "monitored")

LABOR = Vocab("labor", (
    Entry("full", "有劳动能力", "Able to work", ("普通劳动力", "技能劳动力", "劳动力")),
    Entry("weak", "弱劳动力", "Partly able to work", ("半劳动力", "弱劳动力或半劳动力")),
    Entry("none", "无劳动能力", "Unable to work", ("丧失劳动能力", "无劳动力")),
))

# A household's or a person's life state: still on the register here, dead, died out (nobody left), moved away.
LIFE_STATE = Vocab("life_state", (
    ("alive", "在册", "On the register"),
    ("deceased", "已故", "Deceased"),
    ("died_out", "已消亡", "Household ended"),
    ("moved", "迁出", "Moved away"),
))

# Relations to the head of household are kept as the words the poverty register uses.
RELATION = Vocab("relation", (
    ("户主", "户主", "Head of household"),
    ("配偶", "配偶", "Spouse"),
    ("子", "子", "Son"),
    ("女", "女", "Daughter"),
    ("儿媳", "儿媳", "Daughter-in-law"),
    ("女婿", "女婿", "Son-in-law"),
    ("父母", "父母", "Parent"),
    ("父亲", "父亲", "Father"),
    ("母亲", "母亲", "Mother"),
    ("孙子女", "孙子女", "Grandchild"),
    ("孙子", "孙子", "Grandson"),
    ("孙女", "孙女", "Granddaughter"),
    ("兄弟姐妹", "兄弟姐妹", "Sibling"),
    ("祖父母", "祖父母", "Grandparent"),
    ("外孙子女", "外孙子女", "Daughter's child"),
    ("其他", "其他", "Other"),
))

SEX = Vocab("sex", (("M", "男", "Male"), ("F", "女", "Female")))

REGION_LEVEL = Vocab("region_level", (
    ("district", "区（县）", "District (county)"),
    ("township", "乡镇", "Township"),
    ("village", "村", "Village"),
))

# ---------------------------------------------------------------- entities, projects, assets, work

ENTITY_KIND = Vocab("entity_kind", (
    ("enterprise", "企业", "Enterprise"),
    ("cooperative", "合作社", "Cooperative"),
    ("family_farm", "家庭农场", "Family farm"),
    ("village_collective", "村集体经济组织", "Village collective economic organisation"),
))

# An entity's credit record; "失信" is the policy's word (对……实施主体，要强化对其的失信惩戒措施).
CREDIT_STATUS = Vocab("credit_status", (
    ("normal", "正常", "In good standing"),
    ("warned", "警示", "Warned"),
    Entry("blacklisted", "失信黑名单", "Blacklisted", ("黑名单",)),
))

# Industries the policy names for poverty-alleviation projects, kept as the words themselves.
PROJECT_CATEGORY = Vocab("project_category", (
    ("特色种养业", "特色种养业", "Specialty farming and livestock"),
    ("农副产品加工业", "农副产品加工业", "Farm produce processing"),
    ("农业生产社会化服务", "农业生产社会化服务", "Agricultural services"),
    ("乡村旅游", "乡村旅游", "Rural tourism"),
    ("设施农业", "设施农业", "Protected agriculture"),
    ("光伏", "光伏", "Solar power"),
    ("其他", "其他", "Other"),
))

FUNDING_SOURCE = Vocab("funding_source", (
    ("财政扶贫资金", "财政扶贫资金", "Fiscal poverty-alleviation funds"),
    ("涉农整合资金", "涉农整合资金", "Integrated agricultural funds"),
    ("扶贫贷款", "扶贫贷款", "Poverty-alleviation loans"),
    ("社会帮扶", "社会帮扶", "Social assistance"),
    ("自筹", "自筹", "Self-raised"),
))

PROJECT_STATUS = Vocab("project_status", (
    ("planned", "筹建中", "Being set up"),
    ("building", "在建", "Under construction"),
    ("operating", "运营中", "Operating"),
    ("suspended", "暂停", "Suspended"),
    ("closed", "已关闭", "Closed"),
    ("liquidated", "已清算", "Liquidated"),
))

# The policy's words for the assets projects form (先投资建设形成经营性资产 …).
ASSET_KIND = Vocab("asset_kind", (
    Entry("operating", "经营性资产", "Operating asset", ("经营性",)),
    Entry("public", "公益性资产", "Public-welfare asset", ("公益性",)),
    Entry("household", "到户类资产", "Household asset", ("到户类",)),
))

ASSET_STATUS = Vocab("asset_status", (
    ("in_use", "使用中", "In use"),
    ("leased", "出租中", "Leased out"),
    ("pledged", "已抵押", "Pledged"),
    ("idle", "闲置", "Idle"),
    ("disposed", "已处置", "Disposed of"),
))

# The kinds of insurance policy a poverty asset is covered by (R3.3: 财产保险、种植业和养殖业保险、责任保险).
INSURANCE_KIND = Vocab("insurance_kind", (
    Entry("property", "财产保险", "Property insurance", ("财产险",)),
    Entry("crop", "种植业保险", "Crop insurance", ("种植险",)),
    Entry("livestock", "养殖业保险", "Livestock insurance", ("养殖险",)),
    Entry("liability", "责任保险", "Liability insurance", ("责任险",)),
    Entry("other", "其他保险", "Other insurance", ("其他",)),
))

# The public-welfare posts the policy lists (保洁、治安、护路、管水、扶残助残、养老护理).
PUBLIC_WELFARE_POST = Vocab("public_welfare_post", (
    ("保洁", "保洁", "Cleaning"),
    ("治安", "治安", "Public order"),
    ("护路", "护路", "Road upkeep"),
    ("管水", "管水", "Water management"),
    ("扶残助残", "扶残助残", "Help for people with disabilities"),
    ("养老护理", "养老护理", "Care for the elderly"),
))

WORK_KIND = Vocab("work_kind", (
    ("employment", "务工", "Employment"),
    ("public_welfare_post", "公益岗位", "Public-welfare post"),
))

# ---------------------------------------------------------------- contracts (利益联结协议)

BENEFIT_MODEL = Vocab("benefit_model", (
    ("order_purchase", "订单收购", "Order purchase"),
    ("fund_support", "资金扶持", "Fund support"),
    ("trusteeship", "托管经营", "Trusteeship"),
    ("employment", "务工就业", "Employment"),
    ("shareholding", "股份合作", "Shareholding"),
    ("equity_dividend", "入股分红", "Equity dividend"),
    ("asset_lease", "资产租赁", "Asset lease"),
    ("fixed_interest", "利息分红", "Fixed-interest dividend"),
))

CONTRACT_STATUS = Vocab("contract_status", (
    ("active", "有效", "In force"),
    ("terminated", "已终止", "Terminated"),
    ("pending_reassignment", "待重新分配", "Awaiting reassignment"),
    ("expired", "已到期", "Expired"),
))

CONTRIBUTION_KIND = Vocab("contribution_kind", (
    ("land_rights", "土地承包经营权", "Land contract rights"),
    ("quantified_fund", "扶贫量化资金", "Quantified poverty funds"),
    ("poverty_loan", "扶贫贷款", "Poverty-alleviation loan"),
    ("own_money", "自有资金", "Own money"),
))

PRICE_RULE = Vocab("price_rule", (
    ("fixed", "固定价格", "Fixed price"),
    ("market_with_floor", "随行就市，设保护价", "Market price with a floor"),
))
SUPPORT_TYPE = Vocab("support_type", (
    ("grant", "无偿扶持", "Grant"),
    ("revolving", "周转使用（需归还）", "Revolving (to be repaid)"),
))
TRUSTEESHIP_ASSET = Vocab("trusteeship_asset", (("land", "土地", "Land"), ("livestock", "牲畜", "Livestock")))
TRUSTEESHIP_UNIT = Vocab("trusteeship_unit", (("mu", "亩", "mu"), ("head", "头", "head")))
WAGE_BASIS = Vocab("wage_basis", (("day", "按日", "Per day"), ("month", "按月", "Per month"),
                                  ("piece", "计件", "Piece rate")))
PAY_CYCLE = Vocab("pay_cycle", (
    ("daily", "每日", "Daily"),
    ("weekly", "每周", "Weekly"),
    ("monthly", "每月", "Monthly"),
    ("on_completion", "完工后", "On completion"),
))
INTEREST_BASIS = Vocab("interest_basis", (
    ("capital", "资金", "Capital"),
    ("land", "土地", "Land"),
    ("forest", "林地", "Forest land"),
    ("house", "房屋", "House"),
))


def _merged(kind: str, *sets: Vocab) -> Vocab:
    """Several code sets as one, where a code shared by two must read the same in both."""
    seen: dict[str, Entry] = {}
    for vocab in sets:
        for e in vocab.entries:
            if seen.setdefault(e.code, e) != e:
                raise ValueError(f"{kind}: {e.code!r} reads differently in two code sets")
    return Vocab(kind, seen.values())


# Every value a contract's choice term may take (the form and the contract page show them by this name).
TERM_CHOICE = _merged("term_choice", PRICE_RULE, SUPPORT_TYPE, TRUSTEESHIP_ASSET, TRUSTEESHIP_UNIT, WAGE_BASIS,
                      PAY_CYCLE, INTEREST_BASIS, CONTRIBUTION_KIND)

# Keys of the objects a list term may hold (a repayment: its due date and amount).
TERM_ITEM = Vocab("term_item", (
    ("due", "到期日", "Due"),
    ("amount_fen", "金额", "Amount"),
    ("on", "日期", "Date"),
    ("date", "日期", "Date"),
    ("paid_on", "还款日期", "Repaid on"),
    ("quantity", "数量", "Quantity"),
    ("month", "月份", "Month"),
    ("note", "备注", "Note"),
))

# ---------------------------------------------------------------- matters (议事), meetings, notices

MATTER_KIND = Vocab("matter_kind", (
    ("village_allocation", "村级收益分配", "Village income allocation"),
    ("contract", "利益联结协议", "Benefit-linkage contract"),
    ("share_quantification", "资产折股量化", "Quantifying assets as shares"),
    ("asset_disposal", "资产处置", "Asset disposal"),
    ("beneficiary_roster", "收益扶贫对象确认", "Confirming the beneficiaries"),
    ("district_allocation", "区级收益资金分配", "District income allocation"),
    ("township_project", "乡镇（部门）项目", "Township (department) project"),
    ("premium_subsidy", "区级保费补贴", "District premium subsidies"),
))

DECISION_PATH = Vocab("decision_path", (
    ("village", "村级一事一议，乡镇审核", "Village meeting, township review"),
    ("district", "区扶贫开发领导小组研究", "District leading group"),
    ("township", "乡镇因户施策，区级审核", "Township decision per household, district review"),
))

MATTER_STATE = Vocab("matter_state", (
    ("draft", "草拟", "Draft"),
    ("meeting_called", "已召集会议", "Meeting called"),
    ("decided", "已表决通过", "Passed"),
    ("rejected", "表决未通过", "Vote failed"),
    ("under_review", "审核中", "Under review"),
    ("approved", "审核通过", "Approved"),
    ("in_notice", "公示中", "On notice"),
    ("notice_closed", "公示结束", "Notice closed"),
    ("executed", "已执行", "Executed"),
    ("archived", "已归档", "Archived"),
    ("withdrawn", "已撤回", "Withdrawn"),
))

MATTER_ACTION = Vocab("matter_action", (
    ("update_draft", "修改草案", "Update the draft"),
    ("call_meeting", "召集会议", "Call the meeting"),
    ("record_attendance", "登记到会", "Record attendance"),
    ("record_votes", "登记表决", "Record votes"),
    ("decide", "宣布表决结果", "Declare the outcome"),
    ("no_quorum", "会议未达法定人数，不作决定", "No quorum: nothing decided"),
    ("submit", "提交审核", "Submit for review"),
    ("approve", "审核通过", "Approve"),
    ("return", "退回修改", "Return for changes"),
    ("publish", "发布公示", "Post the notice"),
    ("file_objection", "提出异议", "Object"),
    ("answer_objection", "答复异议", "Answer the objection"),
    ("reopen", "异议成立，重新办理", "Uphold and reopen"),
    ("close_notice", "结束公示", "Close the notice"),
    ("execute", "执行", "Execute"),
    ("announce", "结果公告", "Announce the result"),
    ("archive", "归档", "Archive"),
    ("withdraw", "撤回事项", "Withdraw the matter"),
    ("redact_objection", "隐去异议公开内容", "Redact an objection's public text"),
    ("notify_objector", "登记已告知异议人", "Record the objector notified"),
    ("merge_objection", "合并重复异议", "Merge a duplicate objection"),
))
# What a matter's history lists: its steps, and the drafting that opened it.
MATTER_EVENT = MATTER_ACTION.extended("matter_event", (("draft", "起草", "Drafted"),))

MEETING_TYPE = Vocab("meeting_type", (
    ("villagers_meeting", "村民会议", "Villagers' meeting"),
    ("representatives_meeting", "村民代表会议", "Villagers' representatives meeting"),
    ("leading_group_meeting", "领导小组会议", "Leading group meeting"),
))

VOTE = Vocab("vote", (
    Entry("for", "赞成", "For", ("同意",)),
    ("against", "反对", "Against"),
    ("abstain", "弃权", "Abstain"),
))

REVIEW_DECISION = Vocab("review_decision", (("approve", "通过", "Approved"), ("return", "退回", "Returned")))

NOTICE_STATUS = Vocab("notice_status", (
    ("open", "公示中", "On notice"),
    ("closed", "公示期满", "Notice period over"),
    ("withdrawn", "已撤回重新办理", "Withdrawn to be redone"),
))

OBJECTION_STATUS = Vocab("objection_status", (
    ("open", "待答复", "Awaiting an answer"),
    ("upheld", "异议成立", "Upheld"),
    ("dismissed", "异议不成立", "Dismissed"),
    ("superseded", "另一异议成立，已重新办理", "Superseded: another objection was upheld"),
))
# How an objector was told the answer ("notified" records how and when).
OBJECTION_NOTIFIED_VIA = Vocab("objection_notified_via", (
    ("phone", "电话告知", "By phone"),
    ("sms", "短信告知", "By text message"),
    ("letter", "书面告知", "By letter"),
    ("in_person", "当面告知", "In person"),
    ("portal", "门户查询", "On the portal"),
))
# How an objection is answered: an open one becomes one of these.
OBJECTION_OUTCOMES = ("upheld", "dismissed")

# ---------------------------------------------------------------- payments and runs

PAYMENT_LINE_STATUS = Vocab("payment_line_status", (
    ("pending", "待支付", "Pending"),
    ("sent", "已发银行", "Sent to the bank"),
    ("paid", "已支付", "Paid"),
    ("failed", "支付失败", "Payment failed"),
    ("requeued", "已重新发起", "Requeued"),
    ("written_off", "已核销", "Written off"),
))
# A line still to be settled (money neither paid nor written off): the announcement waits for none to be left.
PAYMENT_OPEN = ("pending", "sent", "failed")
# Lines that count towards a batch's total (a requeued line's amount lives on in the line that retries it).
PAYMENT_LIVE = ("pending", "sent", "paid", "failed", "written_off")
# What a payment line is marked when the bank answers.
PAYMENT_OUTCOMES = ("paid", "failed")

PAYMENT_BATCH_STATUS = Vocab("payment_batch_status", (
    ("pending", "待支付", "Pending"),
    ("sent", "已发银行", "Sent to the bank"),
    ("partly_paid", "部分支付", "Partly paid"),
    ("paid", "已支付", "Paid"),
    ("settled", "已结清（含核销）", "Settled (some written off)"),
))
PAYMENT_FILE_DIRECTION = Vocab("payment_file_direction", (
    ("out", "代发文件", "File to the bank"),
    ("in", "银行回盘", "Bank return file"),
))
# What a bank's return file writes in its 状态 column.
BANK_RETURN_STATUS = Vocab("bank_return_status", (
    ("paid", "成功", "Succeeded"),
    ("failed", "失败", "Failed"),
))

# A payment's status, of a line or of a batch (the two agree on the codes they share).
PAYMENT_STATUS = _merged("payment_status", PAYMENT_LINE_STATUS, PAYMENT_BATCH_STATUS)

PAYEE_TYPE = Vocab("payee_type", (("household", "农户", "Household"), ("village", "村集体", "Village collective"),
                                  ("entity", "实施主体", "Implementing entity")))

RUN_KIND = Vocab("run_kind", (
    ("settlement", "收益结算", "Settlement"),
    ("village_allocation", "村级收益分配", "Village income allocation"),
    ("district_allocation", "区级资金分配", "District fund allocation"),
    ("liquidation", "清算分配", "Liquidation"),
    ("premium_subsidy", "保费补贴支付", "Premium subsidy payment"),
))

# ---------------------------------------------------------------- the calculations' own codes (ENGINE.md)

ALLOCATION_RULE = Vocab("allocation_rule", (
    ("direct_support", "兜底保障", "Direct support"),
    ("wages", "公益岗位工资", "Public-welfare post wages"),
    ("tiered", "按贡献分档", "Tiered by contribution"),
    ("equal", "均等分配", "Equal shares"),
    ("retain", "村集体留存", "Kept by the village collective"),
))

ALLOCATION_PER = Vocab("allocation_per", (("person", "按人", "Per person"), ("household", "按户", "Per household")))

# The order of payment when an entity's cash falls short (ENGINE.md §1), by class number.
CASH_CLASS = Vocab("cash_class", (
    ("1", "务工工资", "Wages"),
    ("2", "贫困户、监测户", "Poor and monitored households"),
    ("3", "贫困村", "Poor villages"),
    ("4", "其他村", "Other villages"),
    ("5", "其他", "Everything else"),
))

LIQUIDATION_CLAIM = Vocab("liquidation_claim", (
    ("liquidation_costs", "清算费用", "Liquidation costs"),
    ("wages", "职工工资", "Employees' wages"),
    ("taxes", "税款", "Taxes"),
    ("ordinary_debt", "普通债务", "Ordinary debts"),
    ("equity", "股权", "Equity"),
))

# The order an estate is paid out in (ENGINE.md §4): the four debt classes, then the four equity tiers.
LIQUIDATION_RANK = Vocab("liquidation_rank", (
    ("1", "清算费用", "Liquidation costs"),
    ("2", "职工工资", "Employees' wages"),
    ("3", "税款", "Taxes"),
    ("4", "普通债务", "Ordinary debts"),
    ("5", "股权·贫困户/监测户", "Equity: poor and monitored households"),
    ("6", "股权·贫困村", "Equity: poor villages"),
    ("7", "股权·其他村", "Equity: other villages"),
    ("8", "股权·其他", "Equity: other holders"),
))

LIQUIDATION_HOLDER = Vocab("liquidation_holder", (
    ("household", "农户", "Household"),
    ("village", "村集体", "Village collective"),
    ("other", "其他", "Other"),
))

ENGINE_WARNING = Vocab("engine_warning", (
    ("loss_year", "本期亏损，应付照常结算", "A loss year: dues stand"),
    ("floor_applied", "按保底收益结算", "Settled at the floor"),
    ("entity_default", "实施主体现金不足，拖欠", "The entity is short of cash: arrears"),
    ("wages_scaled", "不足以支付工资，按比例支付", "Too little for the wages: paid pro rata"),
    ("cap_applied", "超过每户上限，已削减", "Over the per-household cap: reduced"),
    ("flat_distribution", "平均分配", "Flat distribution"),
    ("no_eligible_households", "没有符合条件的农户", "No eligible households"),
))

# ---------------------------------------------------------------- people who act, records they file

ROLE = Vocab("role", (
    ("district_admin", "区级管理员", "District administrator"),
    ("township_official", "乡镇干部", "Township official"),
    ("village_cadre", "村干部", "Village cadre"),
    ("entity_user", "实施主体", "Implementing entity"),
    ("auditor", "审计监督", "Auditor"),
    ("discipline", "纪检监察", "Discipline commission"),
    ("public", "公众", "Public"),
    ("province", "省级", "Province"),
    ("system", "系统", "System"),
))

# How far a role reaches for one action of the access policy (domain/access.py).
ACCESS_SCOPE = Vocab("access_scope", (
    ("-", "不可", "None"),
    ("village", "本村", "Own village"),
    ("village+", "本村及本乡镇的乡镇级记录", "Own village and its township's township-level rows"),
    ("township", "本乡镇", "Own township"),
    ("county", "本区（县）", "Own county"),
    ("entity", "本实施主体", "Own implementing entity"),
    ("public", "已公示的", "Posted rows only"),
    ("province", "本省", "Own province"),
    ("all", "全部", "All"),
))

# What a registry document (`daipin record`) may hold, by its `kind`.
RECORD_KIND = Vocab("record_kind", (
    ("region", "区划（乡镇、村）", "Region (township, village)"),
    ("household", "农户（含成员）", "Household (with its members)"),
    ("member", "新增家庭成员", "New household member"),
    ("household-status", "农户身份变化（脱贫、返贫、监测）", "Household status change (exit, return, monitoring)"),
    ("death", "成员死亡", "Death of a member"),
    ("move", "整户迁出", "Household moved away"),
    ("entity", "实施主体", "Implementing entity"),
    ("insurance", "主体保险保单", "Entity's insurance policy"),
    ("credit", "主体信用状态", "Entity's credit status"),
    ("project", "产业项目（含资金来源）", "Project (with its funding)"),
    ("profit", "项目年度收益", "Project's yearly profit"),
    ("asset", "项目资产", "Project asset"),
    ("valuation", "资产评估", "Asset valuation"),
    ("work", "务工或公益岗位工日", "Days of employment or public-welfare work"),
    ("contribution", "贡献积分", "Contribution points"),
    ("contract", "利益联结协议", "Benefit-linkage contract"),
    ("amendment", "协议变更（新版本）", "Contract amendment (a new version)"),
    ("termination", "协议终止", "Contract termination"),
    ("heir-transfer", "股份由继承人承接", "Share passed to an heir"),
    ("allocation-plan", "村级收益分配方案", "Village allocation plan"),
    ("setting", "系统设置（如市场参考收益率）", "System setting (such as the market reference rate)"),
))

# ---------------------------------------------------------------- one lookup

VOCABULARY: dict[str, Vocab] = {v.kind: v for v in (
    HOUSEHOLD_STATUS, LABOR, LIFE_STATE, RELATION, SEX, REGION_LEVEL,
    ENTITY_KIND, CREDIT_STATUS, PROJECT_CATEGORY, FUNDING_SOURCE, PROJECT_STATUS, ASSET_KIND, ASSET_STATUS,
    PUBLIC_WELFARE_POST, WORK_KIND, INSURANCE_KIND,
    BENEFIT_MODEL, CONTRACT_STATUS, CONTRIBUTION_KIND, PRICE_RULE, SUPPORT_TYPE, TRUSTEESHIP_ASSET,
    TRUSTEESHIP_UNIT, WAGE_BASIS, PAY_CYCLE, INTEREST_BASIS, TERM_CHOICE, TERM_ITEM,
    MATTER_KIND, DECISION_PATH, MATTER_STATE, MATTER_ACTION, MATTER_EVENT, MEETING_TYPE, VOTE, REVIEW_DECISION,
    NOTICE_STATUS, OBJECTION_STATUS, OBJECTION_NOTIFIED_VIA,
    PAYMENT_LINE_STATUS, PAYMENT_BATCH_STATUS, PAYMENT_STATUS, PAYMENT_FILE_DIRECTION, BANK_RETURN_STATUS, PAYEE_TYPE, RUN_KIND, ACCESS_SCOPE,
    ALLOCATION_RULE, ALLOCATION_PER, CASH_CLASS, LIQUIDATION_CLAIM, LIQUIDATION_RANK, LIQUIDATION_HOLDER, ENGINE_WARNING,
    ROLE, RECORD_KIND,
)}


def vocab(kind: str) -> Vocab:
    """The code set of that kind (`KeyError` for an unknown kind: a typing error in the caller)."""
    return VOCABULARY[kind]


def label(kind: str, code: object, lang: str = "zh") -> str:
    """The label people read for `code` of `kind`, in Chinese (default) or English ("en")."""
    return VOCABULARY[kind].label(code, lang)
