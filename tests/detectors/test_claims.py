"""Claims per policy: paid to a stranger (claim_payee_mismatch), or soon after issue (early_claim)."""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, T0, at, feed, payout, policy_event
from detectors.base import Tier
from detectors.claims import (
    ClaimPayeeMismatchConfig,
    ClaimPayeeMismatchDetector,
    EarlyClaimConfig,
    EarlyClaimDetector,
)

HOLDER, CHILD = "ACC-H", "ACC-CHILD"
KNOWN = {"policyholder_account_id": HOLDER, "beneficiary_account_ids": [CHILD]}


def claim(event_id, hours, payee, amount=8_000.0, **known):
    return payout(event_id, "claim_payout", amount, t=at(hours), payee=payee, **known)


def issued(hours=0.0, **known):
    return policy_event("i1", "policy_issued", t=at(hours), **known)


@pytest.fixture
def mismatch() -> ClaimPayeeMismatchDetector:
    return ClaimPayeeMismatchDetector(ClaimPayeeMismatchConfig())


@pytest.fixture
def early() -> EarlyClaimDetector:
    return EarlyClaimDetector(EarlyClaimConfig())


@pytest.mark.parametrize("payee, fires", [(HOLDER, False), (CHILD, False), ("ACC-X", True)])
def test_who_a_claim_may_be_paid_to(mismatch, payee, fires):
    assert len(feed(mismatch, [claim("c1", 0, payee, **KNOWN)])[0]) == (1 if fires else 0)


def test_a_claim_paid_to_a_stranger(mismatch):
    [finding], _ = feed(mismatch, [claim("c1", 5, "ACC-X", **KNOWN)])
    assert (finding.tier, finding.entity_id, finding.window_start) == (Tier.MEDIUM, "P1", at(5))
    assert finding.summary == "policy P1: claim of 8,000.00 CNY paid to ACC-X, not the policyholder's or a " \
                              "beneficiary's account"
    assert finding.evidence == {"policy_id": "P1", "customer_id": "C1", "claim_cny": 8_000.0,
                                "payee_account_id": "ACC-X", "policyholder_account_id": HOLDER,
                                "known_accounts": [CHILD, HOLDER], "event_ids": ["c1"]}  # sorted


def test_large_claims_to_a_stranger_are_high(mismatch):
    found, _ = feed(mismatch, [claim("c1", 0, "ACC-X", 49_999.99, **KNOWN), claim("c2", 1, "ACC-Y", 50_000.0, **KNOWN)])
    assert [f.tier for f in found] == [Tier.MEDIUM, Tier.HIGH]  # one alert per claim
    assert [f.window_start for f in found] == [at(0), at(1)]


def test_the_accounts_may_come_from_policy_issued_even_later(mismatch):
    for order in ([issued(**KNOWN), claim("c1", 2, "ACC-X")], [claim("c1", 2, "ACC-X"), issued(**KNOWN)]):
        [finding], _ = feed(mismatch, order)
        assert finding.evidence["known_accounts"] == [CHILD, HOLDER]
    # Nothing known: not judged, and kept for 30 days in case the policy's facts arrive.
    found, states = feed(mismatch, [claim("c1", 2, "ACC-X")])
    assert found == [] and states["P1"]["c"][0][6] == 0
    assert mismatch.advance(states["P1"], at(2) + 30 * DAY + 1) == (None, [])


def test_duplicates_and_restarts(mismatch):
    events = [claim("c1", 0, "ACC-X", **KNOWN)]
    _, states = feed(mismatch, events)
    assert feed(mismatch, events, orjson.loads(orjson.dumps(states)))[0] == []


@pytest.mark.parametrize("days, tier", [(0.1, Tier.HIGH), (30, Tier.HIGH), (30.5, Tier.MEDIUM), (90, Tier.MEDIUM),
                                        (90.01, None)])
def test_early_claim_periods(early, days, tier):
    found, _ = feed(early, [issued(), payout("c1", "claim_payout", 5_000.0, t=T0 + days * DAY)])
    assert [f.tier for f in found] == ([tier] if tier else [])


def test_an_early_claim(early):
    [finding], _ = feed(early, [issued(), claim("c1", 48, HOLDER, 9_000.0)])
    assert (finding.entity_id, finding.window_start, finding.event_time) == ("P1", T0, at(48))
    assert finding.summary == "policy P1: claim of 9,000.00 CNY paid 2.0 days after issue"
    assert finding.tier_reason == "claim within 30 days of issue"
    assert finding.evidence == {"policy_id": "P1", "customer_id": "C1", "claim_cny": 9_000.0,
                                "payee_account_id": HOLDER, "issued_time": T0, "days_after_issue": 2.0,
                                "event_ids": ["c1"]}


def test_one_early_claim_alert_per_policy(early):
    found, _ = feed(early, [issued(), claim("c1", 48, HOLDER), claim("c2", 96, HOLDER)])
    assert len(found) == 1


def test_early_claim_needs_the_issue(early):
    assert feed(early, [claim("c1", 48, HOLDER)])[0] == []  # a policy issued before the stream began
    [finding], _ = feed(early, [claim("c1", 48, HOLDER), issued()])  # the issue arrives late
    assert finding.event_time == T0 and finding.evidence["event_ids"] == ["c1", "i1"]
    assert feed(early, [issued(10), claim("c1", 5, HOLDER)])[0] == []  # a claim before the issue is not early


def test_early_claim_state_leaves_after_the_period(early):
    _, states = feed(early, [issued(), claim("c1", 48, HOLDER)])
    state, _ = early.advance(states["P1"], T0 + 90 * DAY)
    assert state["i"] is not None
    assert early.advance(state, at(48) + 90 * DAY + 1) == (None, [])


def test_config_is_checked():
    with pytest.raises(ValueError):
        EarlyClaimConfig(high_within_s=100 * DAY)
    with pytest.raises(ValueError):
        ClaimPayeeMismatchConfig(high_amount_cny=0.0)
