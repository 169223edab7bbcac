"""Sale recording transcripts (dual recording), clean or carrying a banned phrase.

A clean transcript is assembled from varied segments (greeting, product,
risk disclosure, cooling-off notice, exclusions, confirmation) in Chinese or
English, and may address the customer by name, as real recordings do; the
codec masks that name before any detector sees it. :class:`PhraseGuard`
checks every transcript against the detector's own phrase list and folding,
both as generated and as the detector sees it after masking, so a clean
transcript can never fire by accident and a misleading one always does.
"""
from __future__ import annotations

import re
from random import Random

from detectors.banned_phrases import BannedPhraseConfig, BannedPhraseDetector, load_phrases
from detectors.events import Event
from detectors.text import fold
from streams.codec import REDACTED
from streams.generator.population import Product

_CATEGORY_ZH = {"protection": "保障型", "health": "健康险", "motor": "车险", "investment_linked": "投资连结型",
                "long_term_savings": "储蓄型", "annuity": "年金型"}


class PhraseGuard:
    """The banned-phrase list folded exactly as the detector folds it, and the
    detector itself with its default settings.

    Clean transcripts are held to the stricter test (no listed phrase at all,
    even one the detector would excuse); misleading ones to the detector's own.
    """

    def __init__(self, phrases_file: str = "") -> None:
        self.phrases = load_phrases(phrases_file)
        self._detector = BannedPhraseDetector(BannedPhraseConfig(phrases_file=phrases_file))
        folded = sorted({fold(p) for p in self.phrases if fold(p)}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(p) for p in folded)) if folded else None
        self.zh_phrases = [p for p in self.phrases if not p.isascii()]
        self.en_phrases = [p for p in self.phrases if p.isascii()]

    def hits(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(fold(text)) is not None

    @staticmethod
    def as_seen(transcript: str, personal: tuple[str, ...]) -> str:
        """The transcript after the codec has masked the personal values in it."""
        for value in personal:
            if len(value) >= 2:
                transcript = transcript.replace(value, REDACTED)
        return transcript

    def is_clean(self, transcript: str, personal: tuple[str, ...]) -> bool:
        return not self.hits(transcript) and not self.hits(self.as_seen(transcript, personal))

    def fires(self, transcript: str, personal: tuple[str, ...]) -> bool:
        """Whether the default detector flags the transcript as it sees it (masked)."""
        sale = Event("check", "sale_recorded", "policy", 0.0, policy_id="check",
                     transcript=self.as_seen(transcript, personal))
        return bool(self._detector.observe(sale, None)[1])


# --- clean segments -----------------------------------------------------------------
_ZH_GREET = (
    "{name}您好，我是您的保险代理人，工号{agent}。根据监管要求，本次销售过程将全程录音录像。",
    "您好{name}，我是客户经理，工号{agent}，今天的沟通会进行录音录像，请您知悉。",
    "{name}，下午好。我是工号{agent}的销售人员，接下来的讲解会同步录音录像。",
    "您好，我是工号{agent}的代理人。本次沟通全程录音录像，请问您是{name}本人吗？",
)
_ZH_INTRO = (
    "今天向您介绍的是{product}，属于{category}产品，保险期间{term}年，年交保费{premium}元。",
    "这款{product}是{category}产品，合同保险期间{term}年，按您选择的方案年交保费{premium}元。",
    "您选择的是{product}，年交保费{premium}元，保险期间{term}年，具体以合同条款为准。",
)
_ZH_RISK = {
    "investment_linked": ("本产品为投资连结保险，投资账户的收益不确定，您可能承担投资损失。",
                          "账户价值会随市场波动，过往业绩不代表未来表现。"),
    "long_term_savings": ("分红水平不确定，演示的红利仅供参考，实际以公司公布为准。",
                          "合同前几年的现金价值低于已交保费，提前退保会有损失。"),
    "annuity": ("年金领取金额以合同约定为准，提前退保可能损失部分本金。",
                "合同前几年的现金价值低于已交保费，请您根据自己的资金安排投保。"),
    "protection": ("请您特别注意合同中的等待期约定和责任免除条款。", "投保前的既往症不在保障范围内，具体以条款为准。"),
    "health": ("本产品有免赔额和等待期，既往症不在保障范围内。", "医疗费用按条款约定比例报销，请您留意报销范围。"),
    "motor": ("本保险按条款约定承担车辆损失和第三者责任，免赔情形请以条款为准。",),
}
_ZH_COOLING = (
    "本合同有15天犹豫期，犹豫期内解除合同，我们将退还您已交的全部保费。",
    "您签收合同后有15天犹豫期，在此期间可以申请退保，保费全额退还。",
)
_ZH_EXCLUSIONS = ("请您认真阅读条款中加粗的责任免除部分。", "免责条款我已经逐条向您说明了，请问还有疑问吗？",
                  "投保提示书和免责条款请您仔细看一下，有不清楚的地方随时问我。")
_ZH_CONFIRM = ("好的，我已经了解了。", "明白，我没有问题。", "清楚了，我确认投保。", "嗯，条款我都看过了。")
_ZH_CLOSE = ("感谢您的信任，后续会有回访电话，请注意接听。", "稍后请您在投保单上亲笔签名确认。",
             "保单生效后我们会安排回访，请您如实回答。")

_EN_GREET = (
    "Hello {name}, this is your insurance adviser, staff number {agent}. As required, this sale is recorded.",
    "Good afternoon {name}. Before we start, please note that this conversation is recorded for compliance.",
    "Hi, I'm adviser {agent}. This call is being recorded. Am I speaking with {name}?",
)
_EN_INTRO = (
    "Today I'd like to walk you through the {product}, a {term}-year policy with an annual premium of {premium} CNY.",
    "The plan you picked is the {product}; the annual premium is {premium} CNY and the term is {term_en}.",
)
_EN_RISK = {
    "investment_linked": ("The account value of an investment-linked policy goes up and down with the market, "
                          "and you may get back less than you paid.",
                          "Past performance is no guide to future performance."),
    "long_term_savings": ("Bonuses are not fixed; the illustration is only an example.",
                          "The cash value in the first years is lower than the premiums paid, "
                          "so surrendering early means a loss."),
    "annuity": ("The annuity amounts are set out in the contract; surrendering early may cost part of your premium.",),
    "protection": ("Please pay attention to the waiting period and the exclusions in the policy terms.",),
    "health": ("There is a deductible and a waiting period, and pre-existing conditions are not covered.",),
    "motor": ("The policy covers damage to your vehicle and third-party liability, subject to the deductibles.",),
}
_EN_COOLING = ("You have a 15-day cooling-off period after you receive the contract, during which you can cancel "
               "and get all premiums back.",)
_EN_EXCLUSIONS = ("Please read the exclusions, printed in bold in the policy terms, carefully.",
                  "I have gone through each exclusion with you; do you have any questions?")
_EN_CONFIRM = ("Yes, I understand.", "That's clear, I'd like to go ahead.", "No questions, thank you.")
_EN_CLOSE = ("Thank you. Our service centre will call you back within a few days to confirm the purchase.",
             "Please sign the application form to confirm.")

#: Allowed talk about returns, for the benign look-alike: it discusses yield
#: without promising it (checked clean against the phrase list when used).
RETURNS_TALK_ZH = (
    "客户：这个收益能有多少？|代理人：演示收益只是举例，实际收益不确定，可能高也可能低，甚至可能亏损。",
    "客户：会不会亏本？|代理人：投资有风险，账户价值可能低于您交的保费，这一点请您一定清楚。",
    "客户：比银行理财怎么样？|代理人：两者不好直接比较，这款产品不承诺收益，分红也不固定。",
    "客户：本金安全吗？|代理人：本产品不保本，提前退保还可能损失部分本金。",
)
RETURNS_TALK_EN = (
    "Customer: What return can I expect?|Agent: I can't promise any figure; the illustration is an example and "
    "the actual result may be lower.",
    "Customer: Could I lose money?|Agent: Yes, the value can fall below what you paid in, especially in the "
    "first years.",
    "Customer: Is it like a deposit?|Agent: No. Returns are not fixed and depend on the fund's results.",
)

# --- misleading sentences -----------------------------------------------------------
_ZH_PITCH = ("{p}，这个您完全可以放心。", "说白了，这款产品就是{p}。", "我跟您交个底，{p}，名额有限。",
             "很多老客户都买了，{p}。")
_EN_PITCH = ("Honestly, {p}, so you have nothing to worry about.", "Put simply: {p}.",
             "I tell all my clients the same thing: {p}.", "Between us, {p}. That's why it sells out.")
_CODE_SWITCH_PITCH = ("这个产品就是 {p}，您懂的。", "我们内部都说它 {p}。")
_SEPARATORS = (" ", "  ", "·", "、", "-", "…", "\u3000", "*", "_", "/")

#: Variants of the misleading-phrase scenario.
PHRASE_VARIANTS = ("zh_plain", "en_plain", "fullwidth", "separators", "mixed_case", "code_switch")


def fullwidth(text: str) -> str:
    """ASCII to its full-width forms (U+FF01..U+FF5E, ideographic space)."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def mixed_case(rng: Random, text: str) -> str:
    out = [c.upper() if rng.random() < 0.5 else c.lower() for c in text]
    letters = [i for i, c in enumerate(out) if c.isalpha()]
    if len(letters) >= 2:  # make sure it really is mixed
        out[letters[0]] = out[letters[0]].upper()
        out[letters[1]] = out[letters[1]].lower()
    return "".join(out)


def with_separators(rng: Random, text: str) -> str:
    """Separators pushed between characters of ``text``, at least one."""
    chars = list(text)
    gaps = [i for i in range(1, len(chars)) if chars[i] != " " and chars[i - 1] != " "]
    chosen = set(rng.sample(gaps, k=max(1, len(gaps) // 2))) if gaps else set()
    out = []
    for i, c in enumerate(chars):
        if i in chosen:
            out.append(rng.choice(_SEPARATORS))
        out.append(c)
    return "".join(out)


def _lines(rng: Random, english: bool, name: str, agent_id: str, product: Product, premium: float) -> list[str]:
    term = product.term_years or 1
    fmt = {"name": name, "agent": agent_id, "term": term, "term_en": f"{term} year{'s' if term > 1 else ''}",
           "premium": f"{premium:,.2f}" if english else f"{premium:.2f}",
           "product": product.name_en if english else product.name_zh,
           "category": _CATEGORY_ZH[product.category]}
    seller, buyer = ("Agent: ", "Customer: ") if english else ("代理人：", "客户：")
    greet, intro, risk, cooling, excl, confirm, close = (
        (_EN_GREET, _EN_INTRO, _EN_RISK, _EN_COOLING, _EN_EXCLUSIONS, _EN_CONFIRM, _EN_CLOSE) if english else
        (_ZH_GREET, _ZH_INTRO, _ZH_RISK, _ZH_COOLING, _ZH_EXCLUSIONS, _ZH_CONFIRM, _ZH_CLOSE))
    lines = [seller + rng.choice(greet).format(**fmt), seller + rng.choice(intro).format(**fmt)]
    lines += [seller + s for s in rng.sample(risk[product.category], k=rng.randint(1, len(risk[product.category])))]
    body = [seller + rng.choice(cooling), seller + rng.choice(excl)]
    rng.shuffle(body)  # sellers do not all follow the script in the same order
    lines += body + [buyer + rng.choice(confirm), seller + rng.choice(close)]
    return lines


def clean_transcript(rng: Random, guard: PhraseGuard, *, english: bool, name: str, agent_id: str,
                     product: Product, premium: float, personal: tuple[str, ...], extra: tuple[str, ...] = ()) -> str:
    """A transcript with no listed phrase, raw or masked. ``extra`` lines
    (``speaker: text|speaker: text``) are woven in after the product intro.

    Raises ``ValueError`` if no clean form is found, which means a template
    itself carries a listed phrase (a bug to fix here, not to retry around).
    """
    for _ in range(20):
        lines = _lines(rng, english, name, agent_id, product, premium)
        for item in extra:
            lines[2:2] = item.split("|")
        text = "\n".join(lines)
        if guard.is_clean(text, personal):
            return text
    raise ValueError("transcript templates keep producing a listed phrase")


def misleading_transcript(rng: Random, guard: PhraseGuard, variant: str, *, name: str, agent_id: str,
                          product: Product, premium: float, personal: tuple[str, ...]) -> tuple[str, str]:
    """A transcript carrying one listed phrase in ``variant`` form; returns
    ``(transcript, phrase)``. The detector, with its default settings, flags it
    after masking; ``ValueError`` if no such form can be made."""
    if variant not in PHRASE_VARIANTS:
        raise ValueError(f"unknown phrase variant {variant!r}")
    for _ in range(20):
        text, phrase, form = _pitch(rng, guard, variant, name=name, agent_id=agent_id, product=product,
                                    premium=premium)
        if fold(form) == fold(phrase) and guard.fires(text, personal):
            return text, phrase
    raise ValueError(f"variant {variant!r} keeps producing transcripts the detector would not flag")


def _pitch(rng: Random, guard: PhraseGuard, variant: str, *, name: str, agent_id: str, product: Product,
           premium: float) -> tuple[str, str, str]:
    """A transcript with a pitch holding a phrase: ``(transcript, phrase, the phrase as written)``."""
    use_english = variant in ("en_plain", "fullwidth", "mixed_case", "code_switch") or (
        variant == "separators" and rng.random() < 0.4)
    phrase = rng.choice(guard.en_phrases if use_english else guard.zh_phrases)
    if variant == "fullwidth":
        form = fullwidth(phrase)
    elif variant == "mixed_case" or (variant == "code_switch" and rng.random() < 0.5):
        form = mixed_case(rng, phrase)
    elif variant == "separators":
        form = with_separators(rng, phrase)
    else:
        form = phrase
    english_script = variant == "en_plain" or (variant in ("mixed_case", "fullwidth", "separators") and use_english
                                                and rng.random() < 0.6)
    if variant == "code_switch":
        pitch, english_script = rng.choice(_CODE_SWITCH_PITCH), False
    else:
        pitch = rng.choice(_EN_PITCH if english_script else _ZH_PITCH)
    seller = "Agent: " if english_script else "代理人："
    lines = _lines(rng, english_script, name, agent_id, product, premium)
    lines.insert(rng.randint(2, len(lines) - 1), seller + pitch.format(p=form))
    return "\n".join(lines), phrase, form
