"""Labels of the web pages in zh-CN and en, and which of the two a request gets.

The language is `?lang=` when given (the switch link; a cookie then keeps it), else the
`lang` cookie, else the first of zh/en in Accept-Language, else zh-CN.
"""

from __future__ import annotations

from fastapi import Request

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
COOKIE = "lang"
RATING_PREFIX = "rating."  # labels of the rating's fields: rating.<field name>

# key: (zh-CN, en)
LABELS: dict[str, tuple[str, str]] = {
    "site": ("碳普惠登记处", "Carbon Registry"),
    "skip": ("跳到正文", "Skip to content"),
    "nav": ("主导航", "Main navigation"),
    "home": ("概览", "Overview"),
    "events": ("日志事件", "Log events"),
    "event": ("事件", "Event"),
    "checkpoints": ("检查点与锚定", "Checkpoints and anchors"),
    "classes": ("资产类别", "Asset classes"),
    "methodologies": ("方法学", "Methodologies"),
    "batches": ("批次与序列号", "Batches and serial ranges"),
    "retirements": ("注销与证书", "Retirements and certificates"),
    "search": ("搜索", "Search"),
    "search_label": (
        "证书编号、序列号（或资产类别 批次 序号）、事件序号或哈希",
        "Certificate id, serial (or asset class, batch, serial), event number or hash",
    ),
    "search_hint": (
        "例如 CERT-0000000043、SZ_TRANSIT-1.0-2026-440300 1 1234、42 或 0x…",
        "e.g. CERT-0000000043, SZ_TRANSIT-1.0-2026-440300 1 1234, 42 or 0x…",
    ),
    "me": ("我的碳账户", "My carbon account"),
    "api_docs": ("API 文档", "API docs"),
    "verify": ("验证证明", "Verify a proof"),
    "switch": ("English", "中文"),
    "public_note": (
        "公开页面只显示汇总和公开日志内容，不含个人数据。",
        "Public pages show aggregates and public log content only, no personal data.",
    ),
    "totals": ("登记处总量", "Registry totals"),
    "log_size": ("日志事件数", "Events in the log"),
    "accounts": ("账户数", "Accounts"),
    "account": ("账户", "Account"),
    "issued": ("已签发", "Issued"),
    "active": ("流通中", "Active"),
    "retired": ("已注销", "Retired"),
    "cancelled": ("已作废", "Cancelled"),
    "locked": ("已锁定（跨链）", "Locked (bridged)"),
    "buffer": ("缓冲池", "Buffer pool"),
    "batch_count": ("批次", "Batches"),
    "claims": ("减排申报", "Reduction claims"),
    "latest_events": ("最新事件", "Latest events"),
    "latest_checkpoint": ("最新检查点", "Latest checkpoint"),
    "seq": ("序号", "No."),
    "type": ("类型", "Type"),
    "time": ("时间 (UTC)", "Time (UTC)"),
    "older": ("更早", "Older"),
    "more": ("更多", "More"),
    "pending": ("待核证", "pending"),
    "approved": ("已核准", "approved"),
    "rejected": ("被拒", "rejected"),
    "reversed": ("已撤销", "reversed"),
    "newer": ("更新", "Newer"),
    "leaf_hash": ("叶哈希 (RFC 9162)", "Leaf hash (RFC 9162)"),
    "canonical_json": ("规范 JSON (RFC 8785)", "Canonical JSON (RFC 8785)"),
    "proof_bundle": ("证明包", "Proof bundle"),
    "verify_in_browser": ("在浏览器中验证", "Verify in the browser"),
    "tree_size": ("树大小", "Tree size"),
    "root_hash": ("根哈希", "Root hash"),
    "status": ("状态", "Status"),
    "anchor": ("链上锚定", "On-chain anchor"),
    "block": ("区块", "Block"),
    "not_anchored": ("尚未锚定", "Not anchored yet"),
    "asset_class": ("资产类别", "Asset class"),
    "formula": ("计算公式", "Formula"),
    "factors": ("排放因子", "Emission factors"),
    "source": ("来源", "Source"),
    "version": ("版本", "Version"),
    "family": ("类别", "Family"),
    "region": ("地区", "Region"),
    "quantities": ("活动数据", "Activity quantities"),
    "rules": ("规则与上限", "Rules and caps"),
    "batch": ("批次", "Batch"),
    "amount": ("数量", "Amount"),
    "serials": ("序列号范围", "Serial range"),
    "holder_status": ("持有状态", "Holding status"),
    "certificate": ("证书", "Certificate"),
    "reason": ("原因", "Reason"),
    "beneficiary": ("受益人", "Beneficiary"),
    "not_found": ("未找到", "Not found"),
    "nothing_found": ("没有找到匹配的结果。", "Nothing matches."),
    "sign_in": ("用钱包登录", "Sign in with your wallet"),
    "sign_out": ("退出", "Sign out"),
    "sign_in_note": (
        "使用以太坊登录 (EIP-4361)：钱包只签名一条登录消息，私钥不离开钱包；会话令牌只保存在本标签页中。",
        "Sign-In with Ethereum (EIP-4361): your wallet signs a sign-in message, the key never"
        " leaves it; the session token stays in this tab only.",
    ),
    "no_wallet": (
        "未检测到浏览器钱包 (EIP-1193)。",
        "No browser wallet (EIP-1193) found.",
    ),
    "balance": ("余额与持有", "Balance and holdings"),
    "reductions": ("减排量（按月）", "Reductions over time"),
    "by_methodology": ("按方法学", "By methodology"),
    "by_platform": ("按平台", "By platform"),
    "chart_table": ("图表数据表", "Chart data as a table"),
    "month": ("月份", "Month"),
    "grams": ("克 CO2e", "grams CO2e"),
    "my_claims": ("我的减排申报", "My claims"),
    "computation": ("计算", "Computation"),
    "my_retirements": ("注销与证书", "Retirements and certificates"),
    "household": ("家庭合计", "Household pooled view"),
    "members": ("成员", "Members"),
    "footprint": ("碳足迹估算（衣食住行）", "Footprint estimate (clothing, food, home, travel)"),
    "footprint_note": (
        "估算：仅在本页计算，不保存、不签发，与上面经核证的减排量无关。因子取公开来源中的保守值。",
        "Estimate: computed in this page only, never stored or issued, unlike the verified"
        " reductions above. Factors are conservative readings of public sources.",
    ),
    "estimate": ("估算", "Estimate"),
    "per_month": ("每月", "per month"),
    "compute": ("计算", "Compute"),
    "factor": ("因子", "Factor"),
    "estimate_total": ("估算月排放", "Estimated monthly emissions"),
    "verified_total": ("经核证的减排总量", "Verified reductions, total"),
    "claimed_total": (
        "申报的减排总量（不含被拒或撤销的）",
        "Claimed reductions, total (none rejected or reversed)",
    ),
    "refused": ("未受理的活动记录", "Activity records refused"),
    "detail": ("说明", "Detail"),
    "platform": ("平台", "Platform"),
    "methodology": ("方法学", "Methodology"),
    "claim": ("申报", "Claim"),
    "none": ("无", "None"),
    "printable": ("可打印证书", "Printable certificate"),
    "explorer_link": ("区块浏览器", "Chain explorer"),
    "tx": ("交易", "Transaction"),
    "contract": ("合约", "Contract"),
    "merchants": ("商户兑换", "Merchants"),
    "merchants_note": (
        "用任何平台的减排量兑换商户的优惠：由您的钱包签名（转给商户或为商户注销）。",
        "Spend reductions from any platform on merchants' offers: your wallet signs the"
        " redemption (a transfer to the merchant, or a retirement for it).",
    ),
    "offers": ("优惠", "Offers"),
    "offer": ("优惠", "Offer"),
    "valid_until": ("有效期至", "Valid until"),
    "redeem": ("兑换", "Redeem"),
    "redeem_mode": ("方式", "How"),
    "mode_transfer": ("转给商户", "Transfer to the merchant"),
    "mode_retire": ("为商户注销", "Retire for the merchant"),
    "closed": ("已结束", "Closed"),
    "redemptions": ("兑换记录", "Redemptions"),
    "merchant_sign_in_note": (
        "兑换记录只向商户本人显示：请用商户的钱包登录。",
        "Redemptions are shown to the merchant only: sign in with the merchant's wallet.",
    ),
    "communities": ("社区", "Communities"),
    "community": ("社区", "Community"),
    "pooled_retired": ("社区注销合计", "Retired by the community"),
    "leaderboard": ("排行榜", "Leaderboard"),
    "leaderboard_note": (
        "只显示自愿加入排行榜的成员的昵称，不显示地址。",
        "Only members who opted in appear, by pseudonym; no address is shown.",
    ),
    "join_community": ("加入或退出社区", "Join or leave the community"),
    "join_note": (
        "由您（或家庭）的钱包签名。昵称不进入日志：请求只带它的承诺值，昵称本身加密保存，可以删除。",
        "Your (or your household's) wallet signs. The pseudonym stays off the log: the request"
        " carries only its commitment, and the pseudonym is kept sealed and can be erased.",
    ),
    "join_leaderboard": ("以昵称出现在排行榜上", "Appear on the leaderboard under a pseudonym"),
    "join": ("加入", "Join"),
    "leave": ("退出", "Leave"),
    "rank": ("名次", "Rank"),
    "pseudonym": ("昵称", "Pseudonym"),
    "rating": ("低碳信用", "Low-carbon credit rating"),
    "rating_note": (
        "只根据公开日志计算；是否公开由您决定。公开时生成一份签名的评分声明，银行或商户可以核对而看不到您的活动。",
        "Computed from the public log only; you decide whether to disclose it. Disclosing"
        " makes a signed score statement a bank or merchant can check without seeing your"
        " activities.",
    ),
    "score": ("评分", "Score"),
    "inputs": ("输入", "Inputs"),
    "points": ("得分", "Points"),
    "history": ("历史", "History"),
    "disclose": ("公开评分（签名声明）", "Disclose (signed statement)"),
    "download": ("下载声明", "Download the statement"),
    "my_redemptions": ("我的兑换", "My redemptions"),
    "as_of": ("截至", "as of"),
    "hash": ("哈希", "Hash"),
    "unit": ("单位", "Unit"),
    "mg_per_unit": ("毫克 / 单位", "mg / unit"),
    "raw_json": ("JSON 原文", "JSON"),
    "leakage": ("泄漏扣减", "leakage"),
    "cap_per_activity": ("单次活动上限", "cap per activity"),
    "daily_cap": ("每日上限", "daily cap"),
    # the rating's inputs and points (GET /v1/accounts/{a}/rating), by their field names
    "rating.verifiedGrams": ("经核证的减排量（克）", "Verified reductions (g)"),
    "rating.activeMonths": ("近 12 个月中有签发的月数", "Months of the last 12 with an issuance"),
    "rating.methodologies": ("方法学", "Methodologies"),
    "rating.retiredGrams": ("注销量（克）", "Retired (g)"),
    "rating.reversedClaims": ("被撤销的申报", "Claims reversed"),
    "rating.reductions": ("减排得分", "Reductions points"),
    "rating.regularity": ("持续性得分", "Regularity points"),
    "rating.diversity": ("多样性得分", "Diversity points"),
    "rating.retirements": ("注销得分", "Retirements points"),
    "rating.reversalPenalty": ("撤销扣分", "Reversal penalty"),
}

# Captions of the log's event types (the types themselves are protocol names, shown as
# they are): one for the event of each signed request in registry/messages/catalog.py.
EVENT_CAPTIONS: dict[str, tuple[str, str]] = {
    "AccountOpened": ("开立账户", "account opened"),
    "RoleGranted": ("授予角色", "role granted"),
    "RoleRevoked": ("撤销角色", "role revoked"),
    "AssetClassRegistered": ("登记资产类别", "asset class registered"),
    "CreditsIssued": ("签发减排量", "credits issued"),
    "CreditsTransferred": ("转让减排量", "credits transferred"),
    "CreditsRetired": ("注销减排量", "credits retired"),
    "CreditsCancelled": ("作废减排量", "credits cancelled"),
    "ActivitiesSubmitted": ("平台提交活动记录", "activities submitted"),
    "ClaimsAttested": ("核证减排申报", "claims attested"),
    "IssuanceRun": ("批量签发", "issuance run"),
    "ClaimReversed": ("撤销已签发的申报", "claim reversed"),
    "CreditsLocked": ("锁定减排量（跨链）", "credits locked for a chain"),
    "CreditsReturned": ("链上代币退回", "tokens returned from the chain"),
    "CreditsRetiredOnChain": ("链上注销", "retired on chain"),
    "CreditsMinted": ("链上铸造代币", "tokens minted on chain"),
    "LockReleased": ("解除锁定", "lock released"),
    "OfferPublished": ("商户发布优惠", "offer published"),
    "OfferWithdrawn": ("商户撤回优惠", "offer withdrawn"),
    "OfferRedeemed": ("兑换优惠", "offer redeemed"),
    "CommunityJoined": ("加入社区", "community joined"),
    "CommunityLeft": ("退出社区", "community left"),
}

# Why an activity record earned no claim (registry/mrv: REASONS), shown on /me.
REFUSALS: dict[str, tuple[str, str]] = {
    "duplicate_record": (
        "平台此前已提交过这条活动记录",
        "the platform submitted this activity id before",
    ),
    "unknown_account": ("登记处没有这个账户", "no such account in the registry"),
    "ineligible_account": (
        "只有个人和家庭账户可获得减排量",
        "only person and household accounts earn credits",
    ),
    "erased_account": (
        "本人（或家庭）已要求删除数据，不再签发",
        "the person (or household) asked to be erased",
    ),
    "unknown_methodology": ("没有这个方法学或版本", "no such methodology id and version"),
    "invalid_quantities": (
        "活动数据与方法学要求的字段不符",
        "the quantities are not the methodology's fields",
    ),
    "wrong_region": (
        "活动地区不在方法学适用范围内",
        "the activity's region is outside the methodology's",
    ),
    "future_activity": (
        "活动结束时间晚于批次签名的有效期",
        "the activity ends after the batch signature expires",
    ),
    "outside_claim_window": (
        "活动早于方法学的申报期限",
        "the activity is older than the claim window",
    ),
    "no_baseline": ("没有可计算基线的读数", "no reading to compute the baseline from"),
    "implausible": (
        "数据不可能描述真实活动（速度、时长或比例）",
        "the data cannot describe a real activity",
    ),
    "not_eligible": ("方法学不认可此类活动", "the methodology does not credit this activity"),
    "no_reduction": ("减排量不足 1 克", "the activity earns less than 1 g"),
    "double_counted": ("此活动已被申报过（本账户或其他账户）", "the activity was already claimed"),
    "daily_cap": ("已达方法学的每日上限", "the account reached the methodology's daily cap"),
}


def language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(COOKIE)
    if wanted in LANGUAGES:
        return wanted
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def labels(lang: str) -> dict[str, str]:
    index = LANGUAGES.index(lang)
    return {key: pair[index] for key, pair in LABELS.items()}


def event_captions(lang: str) -> dict[str, str]:
    index = LANGUAGES.index(lang)
    return {kind: pair[index] for kind, pair in EVENT_CAPTIONS.items()}


def rating_labels(lang: str) -> dict[str, str]:
    """The rating's input and point names (its JSON field names) to their labels."""
    return {
        key.removeprefix(RATING_PREFIX): label
        for key, label in labels(lang).items()
        if key.startswith(RATING_PREFIX)
    }


def refusals(lang: str) -> dict[str, str]:
    index = LANGUAGES.index(lang)
    return {reason: pair[index] for reason, pair in REFUSALS.items()}
