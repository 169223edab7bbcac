"""The synthetic book of business: branches, partners, agents, products,
customers and their in-force policies.

Built once per seed from its own random stream, so the same seed gives the
same people whatever scenarios are injected later. Sales drawn from it are
*suitable* (product risk within the customer's tolerance, no long-term or
investment products for customers of 65 and over, premiums affordable), so
that the background does not itself look like mis-selling.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from random import Random

from streams.generator.personal import fake_id_number, fake_mobile, fake_name
from streams.schemas import PRODUCT_CATEGORIES

ELDERLY_AGE = 65
#: Declared income (CNY a year) below which a customer is offered low-risk products only.
LOW_INCOME_CNY = 50_000.0
#: Share of declared income above which an annual premium counts as unaffordable.
AFFORDABLE_SHARE = 0.15
#: Categories a customer of ELDERLY_AGE or more may be sold (short-term cover only).
ELDERLY_CATEGORIES = ("health", "motor")

# category -> (risk levels, term years choices, median annual premium CNY, name stems zh / en)
_CATEGORY_SPECS: dict[str, tuple[tuple[int, ...], tuple[int, ...], float, tuple[str, ...], str]] = {
    "protection": ((1, 2), (10, 20, 30), 6_000.0, ("终身寿险", "定期寿险", "重大疾病保险", "意外伤害保险"),
                   "Protection Plan"),
    "health": ((1,), (1,), 2_500.0, ("百万医疗保险", "住院医疗保险", "门急诊医疗保险"), "Medical Cover"),
    "motor": ((1,), (1,), 4_500.0, ("机动车商业保险", "车险综合保障"), "Motor Cover"),
    "investment_linked": ((3, 4, 5), (10, 15, 20), 40_000.0, ("投资连结保险", "万能型终身寿险"),
                          "Investment-Linked Plan"),
    "long_term_savings": ((2, 3), (10, 15, 20), 25_000.0, ("两全保险(分红型)", "终身寿险(分红型)"),
                          "Participating Savings Plan"),
    "annuity": ((2, 3), (10, 20), 30_000.0, ("年金保险", "养老年金保险"), "Annuity Plan"),
}
_BRANDS_ZH = ("安康", "福佑", "康宁", "尊享", "鑫享", "金福", "如意", "颐年", "乐享", "智选", "臻爱", "长青")
_BRANDS_EN = ("Anxin", "Fuyou", "Kangning", "Zunxiang", "Xinxiang", "Jinfu", "Ruyi", "Yinian", "Lexiang",
              "Zhixuan", "Zhen'ai", "Changqing")
_CATEGORY_WEIGHTS = {"protection": 5, "health": 4, "motor": 2, "investment_linked": 2, "long_term_savings": 3,
                     "annuity": 2}
#: Spread (sigma of the log) of annual premiums around a product's median.
PREMIUM_SIGMA = 0.7


@dataclass(frozen=True, slots=True)
class Partner:
    partner_id: str
    kind: str  # "agency" or "bancassurance"
    branch_id: str

    @property
    def commission_rate(self) -> float:
        """The first-year commission its contract sets, share of premium: 20% to 32% for
        an agency, 3% to 7% for a bank. Derived from the id, so no random draw is spent."""
        n = int(self.partner_id[2:])
        return round(0.20 + 0.02 * (n % 7), 4) if self.kind == "agency" else round(0.03 + 0.01 * (n % 5), 4)


#: Claims-handling regions (provinces); branch ``i`` is in region ``i mod len(REGIONS)``.
REGIONS = ("BJ", "SH", "GD", "JS", "ZJ", "SD", "HE", "HA", "HB", "HN", "SC", "FJ", "AH", "LN", "SN", "YN",
           "GX", "JX", "SX", "CQ")


def region_of_branch(branch_id: str) -> str:
    """The region a branch (``BR0101``...) handles claims in."""
    return REGIONS[(int(branch_id[2:]) - 101) % len(REGIONS)]


@dataclass(frozen=True, slots=True)
class Agent:
    agent_id: str
    branch_id: str
    partner_id: str | None  # None for the insurer's own (tied) agents


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    category: str
    risk_level: int
    term_years: int
    name_zh: str
    name_en: str
    #: Median annual premium, CNY.
    median_premium: float


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    name: str  # personal data
    phone: str  # personal data
    id_number: str  # personal data
    age: int
    #: Declared annual income, CNY.
    income: float
    risk_tolerance: int
    #: The bank account the customer pays premiums from and receives refunds on.
    account_id: str
    agent: int  # index into Population.agents


@dataclass(frozen=True, slots=True)
class Policy:
    policy_id: str
    customer: int  # index into Population.customers
    product: int  # index into Population.products
    agent: int
    #: Annual premium, CNY.
    premium: float
    monthly: bool
    #: Days between issue and the start of the simulation (0 for a new sale).
    issued_days_ago: int


@dataclass(slots=True)
class IdCounter:
    """Unique policy and complaint numbers, handed out in order."""

    policy: int = 0
    complaint: int = 0
    claim: int = 0

    def policy_id(self) -> str:
        self.policy += 1
        return f"PL{860_000_000_000 + self.policy}"

    def complaint_id(self) -> str:
        self.complaint += 1
        return f"CP{2_601_000_000 + self.complaint}"

    def claim_id(self) -> str:
        self.claim += 1
        return f"CL{3_100_000_000 + self.claim}"


#: The insurer's own accounts: premiums are paid into COLLECTION, refunds and payouts come from DISBURSEMENT.
COLLECTION_ACCOUNT = "AC-INS-COLLECT-01"
DISBURSEMENT_ACCOUNT = "AC-INS-PAYOUT-01"


@dataclass(slots=True)
class Population:
    branches: list[str]
    partners: list[Partner]
    agents: list[Agent]
    products: list[Product]
    customers: list[Customer]
    policies: list[Policy]
    ids: IdCounter
    agents_of_branch: dict[str, list[int]] = field(default_factory=dict)
    customers_of_agent: dict[int, list[int]] = field(default_factory=dict)
    policies_of_customer: dict[int, list[int]] = field(default_factory=dict)
    _eligible: dict[tuple[int, bool, bool], list[int]] = field(default_factory=dict)
    _partner_by_id: dict[str, Partner] = field(default_factory=dict)

    def partner(self, partner_id: str) -> Partner:
        """The partner with id ``partner_id``."""
        if not self._partner_by_id:
            self._partner_by_id.update((p.partner_id, p) for p in self.partners)
        return self._partner_by_id[partner_id]

    def eligible_products(self, customer: Customer) -> list[int]:
        """Indices of the products that are suitable for ``customer`` (never empty)."""
        key = (customer.risk_tolerance, customer.age >= ELDERLY_AGE, customer.income < LOW_INCOME_CNY)
        if key not in self._eligible:
            tolerance, elderly, low_income = key
            limit = min(tolerance, 2) if low_income else tolerance
            found = [i for i, p in enumerate(self.products)
                     if p.risk_level <= limit and (not elderly or p.category in ELDERLY_CATEGORIES)]
            self._eligible[key] = found
        return self._eligible[key]

    def draw_premium(self, rng: Random, product: Product, customer: Customer) -> float:
        """A lognormal annual premium (CNY, 2 decimals) the customer can afford."""
        cap = AFFORDABLE_SHARE * customer.income
        premium = 0.0
        for _ in range(6):
            premium = rng.lognormvariate(math.log(product.median_premium), PREMIUM_SIGMA)
            if premium <= cap:
                break
        return round(max(300.0, min(premium, 0.8 * cap)), 2)

    def new_policy(self, rng: Random, customer_index: int, agent_index: int | None = None,
                   issued_days_ago: int = 0, categories: tuple[str, ...] = (), product_index: int | None = None,
                   premium: float | None = None) -> Policy:
        """A suitable policy for a customer, registered in the population; of one
        of ``categories`` when the customer may be sold one. ``product_index``
        and ``premium`` (CNY a year) impose a product and a premium instead,
        suitable or not (for mis-selling scenarios)."""
        customer = self.customers[customer_index]
        if product_index is None:
            eligible = self.eligible_products(customer)
            preferred = [i for i in eligible if self.products[i].category in categories]
            product_index = rng.choice(preferred or eligible)
        product = self.products[product_index]
        agent = customer.agent if agent_index is None else agent_index
        monthly = product.category in ("protection", "health") and rng.random() < 0.35
        if premium is None:
            premium = self.draw_premium(rng, product, customer)
        policy = Policy(self.ids.policy_id(), customer_index, product_index, agent, premium, monthly,
                        issued_days_ago)
        self.policies_of_customer.setdefault(customer_index, []).append(len(self.policies))
        self.policies.append(policy)
        return policy


def _products(rng: Random, count: int) -> list[Product]:
    categories = list(PRODUCT_CATEGORIES)  # one of each first, so every category exists
    names = list(_CATEGORY_WEIGHTS)
    weights = list(_CATEGORY_WEIGHTS.values())
    categories += rng.choices(names, weights=weights, k=count - len(categories))
    out = []
    for i, category in enumerate(categories):
        risks, terms, median, stems, stem_en = _CATEGORY_SPECS[category]
        # The first of each category is its lowest-risk form, so every customer has a product.
        risk = risks[0] if i < len(PRODUCT_CATEGORIES) else rng.choice(risks)
        brand = rng.randrange(len(_BRANDS_ZH))
        out.append(Product(
            product_id=f"PD{1001 + i}",
            category=category,
            risk_level=risk,
            term_years=rng.choice(terms),
            name_zh=_BRANDS_ZH[brand] + rng.choice(stems),
            name_en=f"{_BRANDS_EN[brand]} {stem_en}",
            median_premium=round(median * rng.uniform(0.7, 1.4), -2),
        ))
    return out


_AGE_BANDS = ((18, 29, 0.18), (30, 39, 0.24), (40, 49, 0.22), (50, 59, 0.17), (60, 64, 0.07), (65, 74, 0.09),
              (75, 85, 0.03))


def _customer(rng: Random, index: int, customer_id: str, account_id: str, agent: int,
              on: datetime) -> Customer:
    low, high, _ = rng.choices(_AGE_BANDS, weights=[b[2] for b in _AGE_BANDS])[0]
    age = rng.randint(low, high)
    median_income = 50_000.0 if age < 25 else 55_000.0 if age >= 60 else 100_000.0
    income = min(5_000_000.0, max(12_000.0, rng.lognormvariate(math.log(median_income), 0.75)))
    if age >= ELDERLY_AGE:
        tolerance_weights = (0.45, 0.35, 0.15, 0.05, 0.0)
    elif age < 40 and income > 150_000:
        tolerance_weights = (0.05, 0.15, 0.3, 0.3, 0.2)
    else:
        tolerance_weights = (0.15, 0.3, 0.3, 0.17, 0.08)
    return Customer(
        customer_id=customer_id,
        name=fake_name(rng),
        phone=fake_mobile(rng),
        id_number=fake_id_number(rng, age, on.date()),
        age=age,
        income=round(income, -3),  # declared incomes are round figures
        risk_tolerance=rng.choices((1, 2, 3, 4, 5), weights=tolerance_weights)[0],
        account_id=account_id,
        agent=agent,
    )


def build_population(seed: int, *, agents: int, branches: int, partners: int, customers: int, products: int,
                     start: float) -> Population:
    """The population for ``seed``; ``start`` (epoch seconds) dates ages and issue dates."""
    rng = Random(f"riskwatch-population:{seed}")
    on = datetime.fromtimestamp(start, tz=timezone.utc)
    branch_ids = [f"BR{101 + i:04d}" for i in range(branches)]
    partner_list = [Partner(f"PT{101 + i}", "bancassurance" if rng.random() < 0.4 else "agency",
                            rng.choice(branch_ids)) for i in range(partners)]
    agent_list = []
    for i in range(agents):
        # Every branch gets at least one agent; about a third work for a partner.
        if rng.random() < 0.35:
            partner = rng.choice(partner_list)
            agent_list.append(Agent(f"AG{100_001 + i}", partner.branch_id, partner.partner_id))
        else:
            branch = branch_ids[i] if i < branches else rng.choice(branch_ids)
            agent_list.append(Agent(f"AG{100_001 + i}", branch, None))
    product_list = _products(rng, products)
    # Some agents are far more productive than others: lognormal book sizes.
    book_weights = [rng.lognormvariate(0.0, 0.6) for _ in range(agents)]
    owners = rng.choices(range(agents), weights=book_weights, k=customers)
    customer_ids = rng.sample(range(10_000_000, 100_000_000), customers)
    account_ids = rng.sample(range(1_000_000_000, 10_000_000_000), customers)
    population = Population(branch_ids, partner_list, agent_list, product_list, [], [], IdCounter())
    for i in range(customers):
        population.customers.append(
            _customer(rng, i, f"CU{customer_ids[i]}", f"AC{account_ids[i]}", owners[i], on))
        population.customers_of_agent.setdefault(owners[i], []).append(i)
    for index, agent in enumerate(agent_list):
        population.agents_of_branch.setdefault(agent.branch_id, []).append(index)
    for i in range(customers):
        holdings = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
        for _ in range(holdings):
            # About 3% of the book is inside its 15-day cooling-off period.
            days = rng.randint(1, 14) if rng.random() < 0.03 else rng.randint(15, 12 * 365)
            population.new_policy(rng, i, issued_days_ago=days)
    return population
