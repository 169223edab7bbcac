"""The scorecard core, with figures worked out by hand."""
from __future__ import annotations

import orjson
import pytest

from alerts.scorecards import HOUR, PartnerProfile, ScorecardCore, ScorecardTargets, quarter_bounds, quarter_of
from detectors.config import DetectorConfig
from detectors.events import Event
from streams.engine import DictStateStore

Q3_START, Q3_END = quarter_bounds("2026Q3")
DAY = 86_400.0


def _sale(i: int, t: float, partner: str | None = "PT1", transcript: str = "保障全面，请阅读条款") -> Event:
    return Event(f"sale-{i}", "sale_recorded", "policy", t, policy_id=f"P{i}", customer_id=f"C{i}", agent_id="A1",
                 branch_id="B1", partner_id=partner, premium=1000.0, transcript=transcript, product_risk_level=1,
                 product_category="health", term_years=1, customer_age=40, customer_income=200_000.0,
                 customer_risk_tolerance=3)


def _events() -> list[Event]:
    t = Q3_START + 10 * DAY
    out = [_sale(i, t + i * 60, transcript="这款产品稳赚不赔" if i == 0 else "保障全面，请阅读条款") for i in range(10)]
    out.append(_sale(99, t, partner=None))  # a direct sale: the branch's, not the partner's
    for i in range(10):  # 3 of 10 at 0.22 against a 0.20 contract: deviations 0.1, mean 0.03
        issued = t + HOUR + i * 60
        out.append(Event(f"iss-{i}", "policy_issued", "policy", issued, policy_id=f"P{i}", customer_id=f"C{i}",
                         agent_id="A1", branch_id="B1", partner_id="PT1", commission_rate=0.22 if i < 3 else 0.20,
                         contract_commission_rate=0.20))
        late = i == 9
        out.append(Event(f"cb-{i}", "callback_completed", "policy", issued + (80 if late else 10) * HOUR,
                         policy_id=f"P{i}", customer_id=f"C{i}", agent_id="A1", branch_id="B1", partner_id="PT1"))
    for i in range(4):
        out.append(Event(f"pay-{i}", "premium_paid", "payment", t + 2 * DAY + i, policy_id=f"P{i}",
                         branch_id="B1", partner_id="PT1", amount=2500.0, payer_account_id="AC1",
                         payee_account_id="INS", currency="CNY", channel="bank_transfer"))
    out.append(Event("claim-1", "claim_payout", "payment", t + 3 * DAY, policy_id="P5", branch_id="B1",
                     partner_id="PT1", amount=8000.0, payer_account_id="INS", payee_account_id="AC5",
                     currency="CNY", channel="bank_transfer"))
    out.append(Event("cf-1", "complaint_filed", "complaint", t + 4 * DAY, complaint_id="K1", customer_id="C2",
                     agent_id="A1", branch_id="B1", partner_id="PT1", policy_id="P2", category="mis_selling"))
    out.append(Event("cr-1", "complaint_resolved", "complaint", t + 4 * DAY + 20 * HOUR, complaint_id="K1",
                     customer_id="C2", agent_id="A1", branch_id="B1"))
    return sorted(out, key=lambda e: e.time)


def _alert(aid: str, tier: str, first: float, acked: float | None, needs: bool, entity_type: str = "partner") -> dict:
    from alerts.model import iso_time

    return {"alert_id": aid, "tier": tier, "typology": "partner_compliance_rate", "entity_type": entity_type,
            "entity_id": "PT1", "status": "acknowledged" if acked else "open", "branch_id": "B1", "partner_id": "PT1",
            "event_time": iso_time(first), "first_seen": iso_time(first),
            "ack_deadline": iso_time(first + DAY) if needs else None,
            "acknowledged_at": iso_time(acked) if acked else None, "resolved_at": None, "resolution": None}


def _run(core: ScorecardCore, events: list[Event], alerts: list[dict]) -> DictStateStore:
    store = DictStateStore()
    for event in events:
        branch = core.route(event)
        core.observe(event, store, branch)
        if event.event_type in ("premium_paid", "sale_recorded", "complaint_filed", "policy_issued"):
            core.observe(event, store, branch)  # a redelivery is not counted twice
        core.advance(store, branch, event.time)
    for record in alerts:
        core.observe_alert(record, store, core.alert_route(record))
    return store


@pytest.fixture
def core() -> ScorecardCore:
    return ScorecardCore(DetectorConfig(), ScorecardTargets(min_sample=4))


ALERTS = [_alert("a1", "critical", Q3_START + 11 * DAY, Q3_START + 11 * DAY + 2 * HOUR, True),
          _alert("a2", "high", Q3_START + 12 * DAY, None, True, entity_type="policy"),
          _alert("a3", "low", Q3_START + 12 * DAY, None, False, entity_type="policy")]


def test_partner_figures_worked_by_hand(core):
    store = _run(core, _events(), ALERTS)
    cards = {(c["scope"], c["id"]): c for c in core.scorecards(store, "B1")}
    card = cards[("partner", "PT1")]
    assert (card["period"], card["branch_id"], card["final"]) == ("2026Q3", "B1", False)
    assert (card["policies"], card["premium_written"]) == (10, 10_000.0)
    assert (card["premium_received"], card["claims_paid"], card["loss_ratio"]) == (10_000.0, 8000.0, 0.8)
    # a banned phrase on P0 and a mis-selling complaint about P2: 2 of 10 flagged
    assert (card["flagged_policies"], card["compliance_rate"], card["complaints"]) == (2, 0.8, 1)
    assert (card["contract_policies"], card["off_contract_policies"], card["contract_deviation"]) == (10, 3, 0.03)
    # callbacks: 9 at 10 h, one at 80 h (late); the complaint resolved in 20 h of its 15 days
    assert card["processing"]["callbacks"] == {"decided": 10, "on_time": 9, "completed": 10, "mean_hours": 17.0,
                                               "target_hours": 72.0}
    assert card["processing"]["complaint_deadline"] == {"decided": 1, "on_time": 1, "completed": 1,
                                                        "mean_hours": 20.0, "target_hours": 360.0}
    assert card["processing_on_time_rate"] == round(10 / 11, 4)
    assert card["alerts"] == {"low": 1, "medium": 0, "high": 1, "critical": 1}
    assert (card["alerts_needing_response"], card["alerts_responded_in_time"], card["response_rate"]) == (2, 1, 0.5)
    assert [a["alert_id"] for a in card["serious_alerts"]] == ["a1", "a2"]
    assert card["below_target"] == ["compliance_rate", "contract_deviation", "processing_on_time_rate", "loss_ratio",
                                    "response_rate"]
    branch = cards[("branch", "B1")]
    assert (branch["policies"], branch["premium_written"], branch["compliance_rate"]) == (11, 11_000.0,
                                                                                          round(1 - 2 / 11, 4))


def test_a_quarter_closes_once_after_its_end_then_is_forgotten_and_state_survives_json(core):
    store = DictStateStore()
    store.data = orjson.loads(orjson.dumps(_run(core, _events(), ALERTS).data))
    before = core.scorecards(store, "B1")
    assert core.advance(store, "B1", Q3_END + DAY) == []  # the grace period (2 days) is for late events and responses
    assert core.advance(store, "B1", Q3_END + 2 * DAY) == ["2026Q3"]
    after = core.scorecards(store, "B1")
    assert all(c["final"] for c in after)
    assert [{**c, "final": True, "as_of": None} for c in before] == [{**c, "as_of": None} for c in after]
    assert core.advance(store, "B1", Q3_END + 3 * DAY) == []
    core.advance(store, "B1", Q3_END + 101 * DAY)
    assert store.data == {}  # every key of the quarter, and the branch, forgotten


def test_a_task_past_its_target_counts_late_in_the_quarter_of_its_deadline(core):
    issued = Q3_END - 10 * HOUR  # due 62 h into Q4
    event = Event("iss", "policy_issued", "policy", issued, policy_id="P1", branch_id="B1", partner_id="PT1")
    store = DictStateStore()
    core.observe(event, store, "B1")
    core.advance(store, "B1", issued + 73 * HOUR)
    q4 = {c["scope"]: c for c in core.scorecards(store, "B1", ["2026Q4"])}
    assert q4["partner"]["processing"]["callbacks"]["decided"] == 1
    assert q4["partner"]["processing"]["callbacks"]["on_time"] == 0
    late = Event("cb", "callback_completed", "policy", issued + 90 * HOUR, policy_id="P1", branch_id="B1",
                 partner_id="PT1")
    core.observe(late, store, "B1")  # completed later: its time counts, not a second decision
    callbacks = {c["scope"]: c for c in core.scorecards(store, "B1", ["2026Q4"])}["partner"]["processing"]["callbacks"]
    assert (callbacks["decided"], callbacks["completed"], callbacks["mean_hours"]) == (1, 1, 90.0)


def test_the_registry_profile_places_the_partner_and_sets_its_targets():
    profiles = {"PT1": PartnerProfile(partner_type="agency", branch_id="B9",
                                      targets={"compliance_rate": 0.75, "processing_s:callbacks": 100 * HOUR})}
    core = ScorecardCore(DetectorConfig(), ScorecardTargets(min_sample=4), profiles=profiles)
    store = _run(core, _events(), ALERTS)
    assert set(core.branches(store)) == {"B9", "B1"}  # the partner at its registry branch; a direct sale at its own
    card = next(c for c in core.scorecards(store, "B9") if c["scope"] == "partner")
    assert (card["partner_type"], card["targets"]["compliance_rate"]) == ("agency", 0.75)
    assert "compliance_rate" not in card["below_target"]
    assert card["processing"]["callbacks"]["on_time"] == 10  # 80 h is within a 100 h contract target


def test_rates_over_small_samples_are_shown_but_not_judged():
    core = ScorecardCore(DetectorConfig())  # min_sample 10
    store = DictStateStore()
    core.observe(_sale(1, Q3_START + DAY, transcript="稳赚不赔"), store, "B1")
    card = next(c for c in core.scorecards(store, "B1") if c["scope"] == "partner")
    assert card["compliance_rate"] == 0.0 and card["below_target"] == []


def test_quarters_are_calendar_quarters_in_utc():
    assert quarter_of(Q3_START) == "2026Q3" and quarter_of(Q3_START - 1) == "2026Q2"
    assert quarter_bounds("2026Q4")[1] == quarter_bounds("2027Q1")[0]
    with pytest.raises(ValueError, match="2026Q3"):
        quarter_bounds("2026-3")
