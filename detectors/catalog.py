"""Every detector riskwatch ships: importing a module registers its detector.

Add a line here for a new detector module; the engine, the configuration and
the contract test find it through :data:`detectors.base.REGISTRY`.
"""
import detectors.banned_phrases  # noqa: F401
import detectors.complaint_spike  # noqa: F401
import detectors.structuring  # noqa: F401
