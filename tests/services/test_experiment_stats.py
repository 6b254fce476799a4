"""The experiment statistics against references computed another way: an exact sum for
two variants, and a seeded simulation of the posteriors for any number."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

from webapp.services.kpis.experiment_stats import (
    Arm,
    credible_interval,
    probability_best,
    verdict,
)


def exact_b_beats_a(a: Arm, b: Arm) -> float:
    """P(rate B > rate A) for Beta posteriors with a uniform prior, as a finite sum
    (Evan Miller, "Formulas for Bayesian A/B testing"), valid for whole-number parameters."""
    alpha_a, beta_a = 1 + a.replied, 1 + a.sent - a.replied
    alpha_b, beta_b = 1 + b.replied, 1 + b.sent - b.replied
    total = 0.0
    for i in range(alpha_b):
        total += math.exp(
            betaln(alpha_a + i, beta_a + beta_b)
            - math.log(beta_b + i)
            - betaln(1 + i, beta_b)
            - betaln(alpha_a, beta_a)
        )
    return total


def simulated_best(arms: list[Arm], draws: int = 1_000_000) -> list[float]:
    rng = np.random.default_rng(20261201)
    samples = np.stack(
        [rng.beta(1 + arm.replied, 1 + arm.sent - arm.replied, draws) for arm in arms]
    )
    winners = np.argmax(samples, axis=0)
    return [float(np.mean(winners == index)) for index in range(len(arms))]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Arm(1000, 50), Arm(1000, 70)),
        (Arm(200, 10), Arm(180, 10)),
        (Arm(0, 0), Arm(10, 1)),
        (Arm(5, 0), Arm(5, 5)),
        (Arm(400, 3), Arm(400, 3)),
        (Arm(20000, 1000), Arm(20000, 1050)),
    ],
)
def test_two_variants_match_the_exact_sum(a: Arm, b: Arm) -> None:
    p_a, p_b = probability_best([a, b])
    assert p_b == pytest.approx(exact_b_beats_a(a, b), abs=1e-6)
    assert p_a + p_b == pytest.approx(1.0)


@pytest.mark.parametrize(
    "arms",
    [
        [Arm(100, 5), Arm(100, 5), Arm(100, 9), Arm(100, 2)],
        [Arm(3000, 90), Arm(2900, 120), Arm(3100, 100)],
        [Arm(50, 0), Arm(60, 1), Arm(55, 2), Arm(40, 0)],
    ],
)
def test_any_number_of_variants_matches_a_seeded_simulation(arms: list[Arm]) -> None:
    assert probability_best(arms) == pytest.approx(simulated_best(arms), abs=0.003)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.integers(0, 3000).flatmap(lambda sent: st.tuples(st.just(sent), st.integers(0, sent))),
        min_size=2,
        max_size=4,
    )
)
def test_the_probabilities_are_a_distribution_that_follows_the_evidence(
    counts: list[tuple[int, int]],
) -> None:
    arms = [Arm(sent, replied) for sent, replied in counts]
    p_best = probability_best(arms)
    assert sum(p_best) == pytest.approx(1.0)
    assert all(0.0 <= p <= 1.0 for p in p_best)
    if len(set(counts)) == 1:  # identical evidence: no variant is favoured
        assert all(p == pytest.approx(1 / len(arms), abs=1e-6) for p in p_best)


@pytest.mark.parametrize(
    ("arm", "quantiles"),
    [
        (Arm(1000, 50), (0.025, 0.975)),
        (Arm(100000, 3000), (0.025, 0.975)),
        (Arm(40, 0), (0.0, 0.95)),  # no replies: from 0
        (Arm(12, 12), (0.05, 1.0)),  # only replies: up to 1
    ],
)
def test_the_interval_holds_95_percent_of_the_posterior(
    arm: Arm, quantiles: tuple[float, float]
) -> None:
    interval = credible_interval(arm)
    assert interval is not None
    low, high = interval
    rng = np.random.default_rng(7)
    draws = rng.beta(1 + arm.replied, 1 + arm.sent - arm.replied, 2_000_000)
    assert low == pytest.approx(float(np.quantile(draws, quantiles[0])), abs=5e-4)
    assert high == pytest.approx(float(np.quantile(draws, quantiles[1])), abs=5e-4)
    assert low <= (arm.rate or 0) <= high


def test_nothing_sent_has_no_interval() -> None:
    assert credible_interval(Arm(0, 0)) is None


def test_the_verdict_says_when_the_sample_is_too_small() -> None:
    small = [Arm(50, 1), Arm(50, 9)]
    assert verdict(small, probability_best(small)).state == "too_small"
    clear = [Arm(1000, 30), Arm(1000, 70)]
    decided = verdict(clear, probability_best(clear))
    assert (decided.state, decided.best) == ("likely_winner", 1)
    close = [Arm(1000, 50), Arm(1000, 52)]
    assert verdict(close, probability_best(close)).state == "no_winner_yet"


def test_replies_cannot_outnumber_sends() -> None:
    with pytest.raises(ValueError):
        Arm(5, 6)
