"""All detector thresholds and windows: one typed object with documented defaults.

``load_detector_config`` overlays a JSON file (``RISKWATCH_THRESHOLDS``) of the
form ``{"structuring": {"window_s": 86400}, ...}`` on the defaults. An unknown
section or field is an error, so a typo cannot silently leave a default in
force. ``version`` is a short hash of the effective configuration: every alert
carries it, so an investigator knows which rules produced it.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import orjson

from detectors.agent_peers import AgentPeerConfig
from detectors.banned_phrases import BannedPhraseConfig
from detectors.churning import ChurningConfig
from detectors.callbacks import CallbackConfig
from detectors.claims_service import ClaimServiceConfig
from detectors.complaint_deadline import ComplaintDeadlineConfig
from detectors.complaint_spike import BRANCH_DEFAULTS, PARTNER_DEFAULTS, PRODUCT_DEFAULTS, ComplaintSpikeConfig
from detectors.mis_selling_complaints import MisSellingComplaintConfig
from detectors.partner_kpis import PartnerComplianceConfig, PartnerContractConfig
from detectors.partner_peers import PartnerPeerConfig
from detectors.partner_standing import PartnerStandingConfig
from detectors.branch_accountability import BranchAccountabilityConfig
from detectors.integrity_score import IntegrityScoreConfig
from detectors.structuring import StructuringConfig
from detectors.amount_anomaly import AmountAnomalyConfig, ProductAmountAnomalyConfig
from detectors.claims import ClaimPayeeMismatchConfig, EarlyClaimConfig
from detectors.counterparts import FanInConfig, FanOutConfig, MultiplePayersConfig
from detectors.rapid_in_out import RapidInOutConfig
from detectors.round_tripping import RoundTrippingConfig
from detectors.third_party import ThirdPartyPayerConfig
from detectors.suitability import SuitabilityConfig


class ConfigError(ValueError):
    """The thresholds file cannot be used; the message names the field."""


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    banned_phrases: BannedPhraseConfig = field(default_factory=BannedPhraseConfig)
    structuring: StructuringConfig = field(default_factory=StructuringConfig)
    complaint_spike: ComplaintSpikeConfig = field(default_factory=ComplaintSpikeConfig)
    complaint_spike_branch: ComplaintSpikeConfig = field(default_factory=lambda: ComplaintSpikeConfig(**BRANCH_DEFAULTS))
    complaint_spike_product: ComplaintSpikeConfig = field(
        default_factory=lambda: ComplaintSpikeConfig(**PRODUCT_DEFAULTS))
    complaint_spike_partner: ComplaintSpikeConfig = field(
        default_factory=lambda: ComplaintSpikeConfig(**PARTNER_DEFAULTS))
    mis_selling_complaint: MisSellingComplaintConfig = field(default_factory=MisSellingComplaintConfig)
    callbacks: CallbackConfig = field(default_factory=CallbackConfig)
    complaint_deadline: ComplaintDeadlineConfig = field(default_factory=ComplaintDeadlineConfig)
    partner_compliance: PartnerComplianceConfig = field(default_factory=PartnerComplianceConfig)
    partner_contract: PartnerContractConfig = field(default_factory=PartnerContractConfig)
    claims_service: ClaimServiceConfig = field(default_factory=ClaimServiceConfig)
    suitability: SuitabilityConfig = field(default_factory=SuitabilityConfig)
    agent_peers: AgentPeerConfig = field(default_factory=AgentPeerConfig)
    integrity_score: IntegrityScoreConfig = field(default_factory=IntegrityScoreConfig)
    churning: ChurningConfig = field(default_factory=ChurningConfig)
    third_party_payer: ThirdPartyPayerConfig = field(default_factory=ThirdPartyPayerConfig)
    multiple_payers: MultiplePayersConfig = field(default_factory=MultiplePayersConfig)
    rapid_in_out: RapidInOutConfig = field(default_factory=RapidInOutConfig)
    fan_out: FanOutConfig = field(default_factory=FanOutConfig)
    fan_in: FanInConfig = field(default_factory=FanInConfig)
    amount_anomaly_customer: AmountAnomalyConfig = field(default_factory=AmountAnomalyConfig)
    amount_anomaly_product: ProductAmountAnomalyConfig = field(default_factory=ProductAmountAnomalyConfig)
    claim_payee_mismatch: ClaimPayeeMismatchConfig = field(default_factory=ClaimPayeeMismatchConfig)
    early_claim: EarlyClaimConfig = field(default_factory=EarlyClaimConfig)
    round_tripping: RoundTrippingConfig = field(default_factory=RoundTrippingConfig)
    partner_standing: PartnerStandingConfig = field(default_factory=PartnerStandingConfig)
    partner_peers: PartnerPeerConfig = field(default_factory=PartnerPeerConfig)
    branch_accountability: BranchAccountabilityConfig = field(default_factory=BranchAccountabilityConfig)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def version(self) -> str:
        canonical = orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()[:12]


def _overlay(section_name: str, current: Any, overrides: Any) -> Any:
    if not isinstance(overrides, dict):
        raise ConfigError(f"thresholds: section {section_name!r} must be an object")
    known = {f.name: f for f in fields(current)}
    values = {}
    for name, value in overrides.items():
        if name not in known:
            raise ConfigError(f"thresholds: unknown field {section_name}.{name}; known: {sorted(known)}")
        default = getattr(current, name)
        if default is None:
            ok = True
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            # 86400 and 86400.0 are one configuration: one version hash.
            value = float(value) if ok else value
        elif isinstance(default, int) and not isinstance(default, bool):
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise ConfigError(
                f"thresholds: {section_name}.{name} must be {type(default).__name__}, got {value!r}"
            )
        values[name] = value
    try:
        return replace(current, **values)
    except ValueError as exc:  # raised by a config's own __post_init__ checks
        raise ConfigError(f"thresholds: {section_name}: {exc}") from None


def apply_overrides(config: DetectorConfig, overrides: dict[str, Any]) -> DetectorConfig:
    """Return ``config`` with the sections of ``overrides`` laid over it."""
    known = {f.name for f in fields(config)}
    changes = {}
    for section, values in overrides.items():
        if section not in known:
            raise ConfigError(f"thresholds: unknown section {section!r}; known: {sorted(known)}")
        changes[section] = _overlay(section, getattr(config, section), values)
    return replace(config, **changes)


def overlay_section(section_name: str, current: Any, overrides: Any) -> Any:
    """``current`` (a frozen config dataclass) with ``overrides`` laid over it, type-checked.

    Shared with the other sections of the thresholds file (the alert policy)."""
    return _overlay(section_name, current, overrides)


def load_detector_config(path: Path | None) -> DetectorConfig:
    """Defaults, overlaid with the JSON file at ``path`` when one is given."""
    config = DetectorConfig()
    if path is None:
        return config
    return apply_overrides(config, read_thresholds(path))


def read_thresholds(path: Path) -> dict[str, Any]:
    """The JSON object of a thresholds file, or a ConfigError naming the file."""
    try:
        overrides = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"thresholds file {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"thresholds file {path} is not valid JSON: {exc}") from None
    if not isinstance(overrides, dict):
        raise ConfigError(f"thresholds file {path} must hold a JSON object")
    return overrides
