"""Which partners to propose for review, suspension or exit, from their scorecards.

The source document asks risk teams to "evaluate every quarter, report,
adjust": this turns a quarter's partner scorecards into proposals, each with
the evidence (the figures off target and the serious alerts). People decide;
the report only proposes. Rules, strongest first (one proposal per partner):

* **exit**: the registry has the partner ``blacklisted`` or ``terminated`` and
  it still did business; a confirmed critical alert on the partner itself; or
  at least ``exit_confirmed_critical`` confirmed critical alerts on its business;
* **suspension**: a critical alert on the partner itself (not dismissed as a
  false positive); its compliance rate below ``suspend_compliance_rate``; or at
  least ``suspend_kpis_below`` KPIs below target;
* **review**: any KPI below target, a high alert on the partner itself, or a
  critical alert on its business (not dismissed).

The share of alerts responded to within 24 hours is shown on the scorecard
but not held against a partner: responding is the insurer's on-call work.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ACTIONS = ("exit", "suspension", "review")
#: Critical alerts on a partner's business cited one by one in a review's evidence.
MAX_ALERTS_CITED = 5
#: How a KPI reads in the evidence and the report.
KPI_LABELS = {"compliance_rate": "compliance rate", "contract_deviation": "contract deviation",
              "processing_on_time_rate": "tasks on time", "loss_ratio": "loss ratio",
              "response_rate": "alerts responded to within 24 h"}


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    suspend_compliance_rate: float = 0.95
    suspend_kpis_below: int = 3
    exit_confirmed_critical: int = 2


def kpi_evidence(card: dict[str, Any], kpi: str) -> str:
    return f"{KPI_LABELS[kpi]} {card[kpi]:.1%} against a target of {card['targets'][kpi]:.1%}"


def _alert_evidence(alert: dict[str, Any]) -> str:
    verdict = f", {alert['resolution']}" if alert.get("resolution") else ""
    return (f"{alert['tier']} {alert['typology']} alert {alert['alert_id']} on the {alert['entity_type']} "
            f"({alert['first_seen']}, {alert['status']}{verdict})")


def propose(card: dict[str, Any], policy: ReviewPolicy) -> dict[str, Any] | None:
    """The proposal for one partner scorecard, or None when it is on target."""
    reasons: dict[str, list[str]] = {a: [] for a in ACTIONS}
    status = card.get("registry_status")
    if status in ("blacklisted", "terminated") and card["policies"]:
        reasons["exit"].append(f"registry status {status}, yet {card['policies']} policies sold in {card['period']}")
    serious = [a for a in card["serious_alerts"] if a.get("resolution") != "false_positive"]
    own = [a for a in serious if a["entity_type"] == "partner"]
    critical_business = [a for a in serious if a["tier"] == "critical" and a["entity_type"] != "partner"]
    confirmed = [a for a in serious if a["tier"] == "critical" and a.get("resolution") == "confirmed"]
    for alert in own:
        if alert["tier"] == "critical":
            (reasons["exit"] if alert.get("resolution") == "confirmed" else reasons["suspension"]).append(
                _alert_evidence(alert))
        else:
            reasons["review"].append(_alert_evidence(alert))
    if len(confirmed) >= policy.exit_confirmed_critical:
        reasons["exit"].append(f"{len(confirmed)} confirmed critical alerts on its business: "
                               + "; ".join(_alert_evidence(a) for a in confirmed))
    # Response to alerts is the insurer's own on-call work, not the partner's: not held against it.
    below = [k for k in card["below_target"] if k != "response_rate"]
    if "compliance_rate" in below and card["compliance_rate"] < policy.suspend_compliance_rate:
        reasons["suspension"].append(kpi_evidence(card, "compliance_rate")
                                     + f" ({card['flagged_policies']} of {card['policies']} policies flagged)")
        below.remove("compliance_rate")
    kpis_below = len(card["below_target"]) - ("response_rate" in card["below_target"])
    if kpis_below >= policy.suspend_kpis_below:
        reasons["suspension"].append(f"{kpis_below} KPIs below target")
    reasons["review"].extend(kpi_evidence(card, k) for k in below)
    business = [a for a in critical_business if a not in confirmed]
    reasons["review"].extend(_alert_evidence(a) for a in business[:MAX_ALERTS_CITED])
    if len(business) > MAX_ALERTS_CITED:
        reasons["review"].append(f"and {len(business) - MAX_ALERTS_CITED} more critical alerts on its business")
    action = next((a for a in ACTIONS if reasons[a]), None)
    if action is None:
        return None
    evidence = [e for a in ACTIONS[ACTIONS.index(action):] for e in reasons[a]]
    return {"partner_id": card["id"], "branch_id": card["branch_id"], "period": card["period"], "action": action,
            "evidence": list(dict.fromkeys(evidence))}


def proposals(cards: Iterable[dict[str, Any]], policy: ReviewPolicy | None = None) -> list[dict[str, Any]]:
    """Proposals for every partner scorecard off target, exits first."""
    policy = policy or ReviewPolicy()
    found = [p for card in cards if card["scope"] == "partner" and (p := propose(card, policy)) is not None]
    return sorted(found, key=lambda p: (ACTIONS.index(p["action"]), p["period"], p["partner_id"]))
