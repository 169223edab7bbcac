"""Claims service targets: small motor claims settled within 30 min, injury claims
contacted within 72 h, and regions whose breach rate stands out.

Defaults: small motor means claimed under 5,000 CNY; a target met exactly at
its deadline is met; a region needs 8 decided claims and 4 breaches in 7 days,
a rate at least twice the reference and a binomial tail below 1e-4; the
reference is the median of the other regions' rates shrunk as
(breaches + 0.03 x 20) / (claims + 20), or 0.03 with fewer than 3 other regions.
"""
from __future__ import annotations

import orjson
import pytest

from builders import DAY, T0, advance_all, at, claim, feed
from detectors.base import Tier
from detectors.claims_service import (
    ClaimContactDetector,
    ClaimServiceConfig,
    ClaimSettlementDetector,
    RegionClaimsOutlierDetector,
)
from detectors.stats import binomial_sf

MIN = 60.0
CONFIG = ClaimServiceConfig()


def motor(event_id, kind, minutes, claim_id="CL1", amount=3_200.0, region="GD", policy_id="P1"):
    return claim(event_id, kind, t=T0 + minutes * MIN, claim_id=claim_id, amount=amount, region=region,
                 policy_id=policy_id)


def injury(event_id, kind, hours, claim_id="CL1", region="GD"):
    return claim(event_id, kind, t=at(hours), claim_id=claim_id, claim_type="injury", amount=30_000.0, region=region)


# --- settlement ------------------------------------------------------------------------
def test_small_motor_claim_settled_at_29_or_30_minutes_is_in_time():
    det = ClaimSettlementDetector(CONFIG)
    for minutes in (29, 30):
        found, states = feed(det, [motor("r", "claim_reported", 0), motor("s", "claim_settled", minutes)])
        assert found == [] and advance_all(det, states, at(100)) == []


def test_not_settled_in_30_minutes_fires_on_the_timer():
    det = ClaimSettlementDetector(CONFIG)
    _, states = feed(det, [motor("r", "claim_reported", 0)])
    assert advance_all(det, states, T0 + 29 * MIN) == []
    [finding] = advance_all(det, states, T0 + 45 * MIN)
    assert finding.typology == "claim_settlement_late"
    assert finding.tier is Tier.MEDIUM
    assert (finding.entity_type, finding.entity_id) == ("policy", "P1")
    assert finding.event_time == T0 + 30 * MIN and finding.window_start == T0
    assert finding.evidence["claim_id"] == "CL1" and finding.evidence["region"] == "GD"
    assert finding.evidence["target_s"] == 1800.0
    assert finding.summary == "policy P1, claim CL1 (motor, region GD): not settled; target 30 min"


def test_settled_at_31_minutes_fires_when_the_settlement_arrives():
    det = ClaimSettlementDetector(CONFIG)
    [finding] = feed(det, [motor("r", "claim_reported", 0), motor("s", "claim_settled", 31)])[0]
    assert finding.event_time == T0 + 31 * MIN
    assert finding.evidence["settled_at"] == T0 + 31 * MIN
    assert finding.evidence["event_ids"] == ["r", "s"]
    assert finding.score == round(31 / 30, 4)


def test_claims_of_5000_or_more_and_other_types_have_no_settlement_target():
    det = ClaimSettlementDetector(CONFIG)
    big = [motor("r", "claim_reported", 0, amount=5_000.0)]
    found, states = feed(det, big)
    assert found == [] and advance_all(det, states, at(10)) == []
    assert det.key(injury("i", "claim_reported", 0)) is None


def test_two_claims_on_one_policy_are_two_episodes():
    det = ClaimSettlementDetector(CONFIG)
    events = [motor("r1", "claim_reported", 0), motor("r2", "claim_reported", 10, "CL2"),
              motor("s2", "claim_settled", 20, "CL2")]
    _, states = feed(det, events)
    [finding] = advance_all(det, states, T0 + 60 * MIN)
    assert finding.evidence["claim_id"] == "CL1"


def test_settlement_before_report_out_of_order():
    det = ClaimSettlementDetector(CONFIG)
    assert feed(det, [motor("s", "claim_settled", 20), motor("r", "claim_reported", 0)])[0] == []
    [late] = feed(det, [motor("s", "claim_settled", 50), motor("r", "claim_reported", 0)])[0]
    assert late.event_time == T0  # the report arrived last


def test_restart_from_serialised_state():
    det = ClaimSettlementDetector(CONFIG)
    _, states = feed(det, [motor("r", "claim_reported", 0)])
    restored = orjson.loads(orjson.dumps(states))
    assert advance_all(det, restored, at(1)) == advance_all(det, states, at(1))


# --- contact ---------------------------------------------------------------------------
def test_injury_claim_contacted_at_71_hours_is_in_time_and_at_73_late():
    det = ClaimContactDetector(CONFIG)
    found, states = feed(det, [injury("r", "claim_reported", 0), injury("c", "claim_contacted", 71)])
    assert found == [] and advance_all(det, states, at(200)) == []
    [finding] = feed(det, [injury("r", "claim_reported", 0), injury("c", "claim_contacted", 73)])[0]
    assert finding.typology == "claim_contact_late"
    assert finding.summary == "policy P1, claim CL1 (injury, region GD): contacted after 73 h; target 72 h"


def test_a_settlement_counts_as_contact():
    det = ClaimContactDetector(CONFIG)
    found, states = feed(det, [injury("r", "claim_reported", 0), injury("s", "claim_settled", 50)])
    assert found == [] and advance_all(det, states, at(200)) == []


def test_not_contacted_in_72_hours_fires_on_the_timer():
    det = ClaimContactDetector(CONFIG)
    _, states = feed(det, [injury("r", "claim_reported", 0)])
    assert advance_all(det, states, at(71.9)) == []
    [finding] = advance_all(det, states, at(72))
    assert finding.event_time == at(72)


# --- regions ---------------------------------------------------------------------------
def region_day(region_claims: dict[str, list[bool]]) -> list:
    """For each region, small motor claims an hour apart, each settled after 40 min
    (late, True) or 10 min; regions interleaved so that each claim is decided in turn."""
    events = []
    for region, late in region_claims.items():
        for i, is_late in enumerate(late):
            kw = {"claim_id": f"{region}-{i}", "region": region, "policy_id": f"P-{region}-{i}"}
            start = i * 60 + len(events) % 7
            events += [motor(f"r-{region}-{i}", "claim_reported", start, **kw),
                       motor(f"s-{region}-{i}", "claim_settled", start + (40 if is_late else 10), **kw)]
    return sorted(events, key=lambda e: e.time)


def test_a_region_whose_breach_rate_stands_out_from_the_others():
    det = RegionClaimsOutlierDetector(CONFIG)
    events = region_day({"BJ": [False] * 2, "SH": [False] * 2, "JS": [False] * 2,
                         "GD": [False] * 4 + [True] * 4})
    found, states = feed(det, events)
    [finding] = found
    # Reference: the median of (0 + 0.6) / (2 + 20) over BJ, SH and JS = 0.02727.
    reference = 0.6 / 22
    assert (finding.entity_type, finding.entity_id) == ("region", "GD")
    assert finding.evidence["claims"] == 8 and finding.evidence["breaches"] == 4
    assert finding.evidence["reference_rate"] == round(reference, 4)
    assert finding.evidence["other_regions"] == 3
    assert finding.evidence["p_value"] == pytest.approx(binomial_sf(4, 8, reference))
    assert finding.evidence["p_value"] == pytest.approx(3.6e-5, rel=0.05)
    assert finding.score == pytest.approx(0.5 / reference, rel=1e-3)
    assert finding.window_start == (finding.event_time // (7 * DAY)) * 7 * DAY
    assert set(finding.evidence["event_ids"]) >= {f"r-GD-{i}" for i in range(4, 8)}


def test_few_claims_or_few_breaches_do_not_stand_out():
    det = RegionClaimsOutlierDetector(CONFIG)
    # Two of three late: too few claims. Three of eight: too few breaches.
    assert feed(det, region_day({"GD": [True, True, False], "SH": [True] * 3 + [False] * 5}))[0] == []


def test_an_ordinary_rate_everywhere_is_no_outlier():
    det = RegionClaimsOutlierDetector(CONFIG)
    # Every region misses 4 of 8: the reference is (4 + 0.6) / 28 = 16.4%; 50% is more than twice
    # that, but 4 of 8 at 16.4% has p = 0.03: nothing stands out.
    day = region_day({r: [True] * 4 + [False] * 4 for r in ("BJ", "SH", "JS", "GD")})
    assert feed(det, day)[0] == []


def test_with_fewer_than_three_other_regions_the_prior_is_the_reference():
    det = RegionClaimsOutlierDetector(CONFIG)
    [finding] = feed(det, region_day({"GD": [True] * 4 + [False] * 4}))[0]
    assert finding.evidence["reference_rate"] == 0.03 and finding.evidence["other_regions"] == 0


def test_a_region_is_flagged_once_while_it_stands_out_and_again_after_recovering():
    det = RegionClaimsOutlierDetector(CONFIG)
    found, states = feed(det, region_day({"GD": [True] * 4 + [False] * 4}))
    assert len(found) == 1
    more = [motor(f"x{i}", k, 24 * 60 * 8 + i * 60 + m, claim_id=f"X{i}")
            for i in range(2) for k, m in (("claim_reported", 0), ("claim_settled", 40))]
    # Eight days on, still out of line (the window is rolling): no second alert ...
    assert feed(det, more[:2], states)[0] == []
    # ... until the region has been back in line: the week's claims age out of the window.
    advance_all(det, states, T0 + 20 * DAY)
    again = region_day({"GD": [True] * 4 + [False] * 4})
    again = [e.__class__(**{**e.to_dict(), "event_id": "y" + e.event_id, "claim_id": "Y" + e.claim_id,
                            "time": e.time + 21 * DAY}) for e in again]
    [second] = feed(det, again, states)[0]
    assert second.window_start != found[0].window_start


def test_the_book_is_one_state_and_empties_itself():
    det = RegionClaimsOutlierDetector(CONFIG)
    _, states = feed(det, region_day({"GD": [True] * 4, "SH": [False] * 2}))
    assert list(states) == ["all"]
    assert orjson.loads(orjson.dumps(states)) == states
    advance_all(det, states, T0 + 30 * DAY)
    assert states == {}


def test_a_breach_decided_by_the_timer_counts():
    det = RegionClaimsOutlierDetector(CONFIG)
    events = region_day({"GD": [False] * 4})
    events += [motor(f"r{i}", "claim_reported", 300 + i, claim_id=f"L{i}") for i in range(4)]
    found, states = feed(det, events)
    assert found == []
    [finding] = advance_all(det, states, T0 + 400 * MIN)
    assert finding.entity_id == "GD" and finding.evidence["breaches"] == 4
    assert finding.event_time == T0 + 333 * MIN  # the deadline of the fourth breach


@pytest.mark.parametrize("overrides", [{"motor_settlement_s": 0.0}, {"region_p_value": 1.0},
                                       {"region_min_ratio": 0.5}, {"region_tier": "purple"}])
def test_config_rejects_values_that_cannot_work(overrides):
    with pytest.raises(ValueError):
        ClaimServiceConfig(**overrides)

