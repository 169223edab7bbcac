"""Findings become alerts here: identity, tier, and the alert record itself."""
