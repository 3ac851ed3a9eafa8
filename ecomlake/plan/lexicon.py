"""Ordered names behind every categorical index in the plan (channel 2 means `channels[2]`).

Built once from the config; plan arrays store small integers and renderers turn them into
dictionary-encoded Arrow columns with these names as the dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecomlake.config import EcomConfig

NONE = -1  # index meaning "no value" (guest channel, no tier, ...)
DEFAULT_REFUND = (0.5, 0.4)  # (full_return_prob, partial_quantity_prob) without a config entry


@dataclass(frozen=True)
class Thresholds:
    """Names by ascending spend threshold in cents; earned = the highest threshold <= spend."""

    names: tuple[str, ...]
    cents: np.ndarray

    @classmethod
    def from_mapping(cls, mapping: dict[str, float]) -> Thresholds:
        ordered = sorted(mapping.items(), key=lambda kv: kv[1])
        return cls(tuple(k for k, _ in ordered), np.array([round(v * 100) for _, v in ordered]))

    def earned(self, spend_cents: np.ndarray) -> np.ndarray:
        """Index into `names` for each spend (spend below every threshold -> the lowest): the
        number of thresholds past the lowest that the spend reaches, which for these few sorted
        thresholds is a pass per threshold rather than a binary search per spend."""
        spend = np.asarray(spend_cents)
        idx = np.zeros(spend.shape, dtype=np.int64)
        for cents in self.cents[1:]:
            idx += spend >= cents
        return idx.astype(np.int8)


@dataclass(frozen=True)
class Lexicon:
    """Every vocabulary the plan indexes into, in a fixed order."""

    signup_channels: tuple[str, ...]
    tiers: tuple[str, ...]
    categories: tuple[str, ...]
    genders: tuple[str, ...]
    statuses: tuple[str, ...]
    status_weights: tuple[float, ...]
    order_channels: tuple[str, ...]
    order_channel_weights: tuple[float, ...]
    payment_methods: tuple[str, ...]
    payment_weights: tuple[float, ...]
    speeds: tuple[str, ...]
    speed_weights: tuple[float, ...]
    reasons: tuple[str, ...]
    reason_full_prob: np.ndarray  # per reason
    reason_partial_prob: np.ndarray  # per reason
    agents: tuple[str, ...]
    return_channels: tuple[str, ...]
    earned_tiers: Thresholds
    clv_buckets: Thresholds

    @classmethod
    def from_config(cls, cfg: EcomConfig) -> Lexicon:
        p = cfg.parameters
        order_channels = tuple(p.order_channel_distribution)
        preferences = [
            rule.return_channel_preference
            for rule in cfg.channel_rules.values()
            if rule.return_channel_preference
        ]
        return_channels = order_channels + tuple(
            dict.fromkeys(c for c in preferences if c not in order_channels)
        )
        statuses, status_weights = cfg.customer_status_distribution()
        return cls(
            signup_channels=tuple(p.signup_channel_distribution),
            tiers=tuple(cfg.vocab.loyalty_tiers),
            categories=tuple(cfg.vocab.categories),
            genders=tuple(cfg.vocab.genders),
            statuses=tuple(statuses),
            status_weights=tuple(status_weights),
            order_channels=order_channels,
            order_channel_weights=tuple(p.order_channel_distribution.values()),
            payment_methods=tuple(p.global_payment_method_distribution),
            payment_weights=tuple(p.global_payment_method_distribution.values()),
            speeds=tuple(p.shipping_speed_distribution),
            speed_weights=tuple(p.shipping_speed_distribution.values()),
            reasons=tuple(cfg.vocab.return_reasons),
            reason_full_prob=np.array([_refund(cfg, r)[0] for r in cfg.vocab.return_reasons]),
            reason_partial_prob=np.array([_refund(cfg, r)[1] for r in cfg.vocab.return_reasons]),
            agents=tuple(a.id for a in cfg.vocab.agent_pool.agents),
            return_channels=return_channels,
            earned_tiers=Thresholds.from_mapping(p.tier_spend_thresholds),
            clv_buckets=Thresholds.from_mapping(p.clv_spend_thresholds),
        )


def _refund(cfg: EcomConfig, reason: str) -> tuple[float, float]:
    """Refund behaviour of a reason, falling back to the `default` entry, then to 0.5/0.4."""
    behaviours = cfg.parameters.refund_behavior_by_reason
    entry = behaviours.get(reason) or behaviours.get("default")
    return (entry.full_return_prob, entry.partial_quantity_prob) if entry else DEFAULT_REFUND
