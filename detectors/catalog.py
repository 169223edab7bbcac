"""Every detector riskwatch ships: importing a module registers its detector.

Add a line here for a new detector module; the engine, the configuration and
the contract test find it through :data:`detectors.base.REGISTRY`.
"""
import detectors.agent_peers  # noqa: F401
import detectors.amount_anomaly  # noqa: F401
import detectors.banned_phrases  # noqa: F401
import detectors.branch_accountability  # noqa: F401
import detectors.callbacks  # noqa: F401
import detectors.churning  # noqa: F401
import detectors.claims  # noqa: F401
import detectors.claims_service  # noqa: F401
import detectors.complaint_deadline  # noqa: F401
import detectors.complaint_spike  # noqa: F401
import detectors.counterparts  # noqa: F401
import detectors.integrity_score  # noqa: F401
import detectors.mis_selling_complaints  # noqa: F401
import detectors.partner_kpis  # noqa: F401
import detectors.partner_peers  # noqa: F401
import detectors.partner_standing  # noqa: F401
import detectors.rapid_in_out  # noqa: F401
import detectors.round_tripping  # noqa: F401
import detectors.structuring  # noqa: F401
import detectors.suitability  # noqa: F401
import detectors.third_party  # noqa: F401
