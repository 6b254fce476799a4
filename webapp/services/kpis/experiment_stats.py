"""The statistics of an A/B experiment on reply rates: pure, no database, no clock.

Each variant's reply rate gets a Beta(1 + replies, 1 + sent - replies) posterior: a uniform
prior updated by what happened. From it come the 95% credible interval (the middle 95% of
the posterior) and the probability that the variant has the highest reply rate of all,

    P(i is best) = integral of f_i(x) * product over j != i of F_j(x) dx,

computed by numerical integration (scipy), so the same figures always come out. Opens are
not used: image proxies open every mail, so they cannot tell variants apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats

# Below this many sends of some variant, or this many replies in all, nothing can be told.
MIN_SENT_PER_VARIANT = 100
MIN_REPLIES = 5
# A variant is declared the likely winner at this probability of being best.
WINNER_PROBABILITY = 0.95
CREDIBLE = 0.95
# The integration grid: points across each posterior, out to this far in its tails.
GRID_POINTS = 2001
GRID_TAIL = 1e-12


@dataclass(frozen=True)
class Arm:
    """One variant's count: mails sent and replies received."""

    sent: int
    replied: int

    def __post_init__(self) -> None:
        if self.sent < 0 or not 0 <= self.replied <= self.sent:
            raise ValueError(f"replies must lie between 0 and sent: {self}")

    @property
    def rate(self) -> float | None:
        return self.replied / self.sent if self.sent else None

    def posterior(self) -> stats.rv_continuous:
        return stats.beta(1 + self.replied, 1 + self.sent - self.replied)


def credible_interval(arm: Arm, level: float = CREDIBLE) -> tuple[float, float] | None:
    """Where the reply rate lies with probability `level`; None before anything was sent.

    The middle `level` of the posterior, except at no replies (or only replies), where the
    interval runs from 0 (or to 1): the observed rate is always inside it.
    """
    if arm.sent == 0:
        return None
    posterior = arm.posterior()
    if arm.replied == 0:
        return 0.0, float(posterior.ppf(level))
    if arm.replied == arm.sent:
        return float(posterior.ppf(1 - level)), 1.0
    tail = (1 - level) / 2
    low, high = posterior.ppf([tail, 1 - tail])
    return float(low), float(high)


def probability_best(arms: list[Arm]) -> list[float]:
    """For each arm, the probability that its reply rate is the highest of all."""
    if not arms:
        return []
    if len(arms) == 1:
        return [1.0]
    posteriors = [arm.posterior() for arm in arms]
    grid = _grid(posteriors)
    densities = [p.pdf(grid) for p in posteriors]
    cumulative = [p.cdf(grid) for p in posteriors]
    results = []
    for index in range(len(arms)):
        integrand = densities[index].copy()
        for other in range(len(arms)):
            if other != index:
                integrand *= cumulative[other]
        # Simpson's rule may dip a hair below zero where the integrand is nothing.
        results.append(max(0.0, float(integrate.simpson(integrand, x=grid))))
    total = sum(results)
    # The integrals add up to one up to the grid's error; say so exactly.
    return [value / total for value in results] if total > 0 else [1 / len(arms)] * len(arms)


def _grid(posteriors: list[stats.rv_continuous]) -> np.ndarray:
    """Points dense where each posterior has its mass, so a narrow one (many sends) is
    measured as finely as a wide one: GRID_POINTS across each one's own range, joined."""
    parts = [np.array([0.0, 1.0])]
    for posterior in posteriors:
        low, high = posterior.ppf([GRID_TAIL, 1 - GRID_TAIL])
        parts.append(np.linspace(low, high, GRID_POINTS))
    return np.unique(np.concatenate(parts))


@dataclass(frozen=True)
class Verdict:
    """What the figures allow one to say: `too_small`, `likely_winner` or `no_winner_yet`."""

    state: str
    best: int | None  # the index of the likely winner, for `likely_winner`


def verdict(arms: list[Arm], p_best: list[float], min_sent: int = MIN_SENT_PER_VARIANT) -> Verdict:
    if len(arms) < 2:
        return Verdict("too_small", None)
    if min(arm.sent for arm in arms) < min_sent or sum(arm.replied for arm in arms) < MIN_REPLIES:
        return Verdict("too_small", None)
    best = max(range(len(arms)), key=lambda index: p_best[index])
    if p_best[best] >= WINNER_PROBABILITY:
        return Verdict("likely_winner", best)
    return Verdict("no_winner_yet", None)
