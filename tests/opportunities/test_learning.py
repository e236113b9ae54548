"""Learning: a new user starts at the prior and each outcome moves the weights a little."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from gigforge.opportunities.analysis import FEATURES, NEUTRAL, PRIOR, ModelWeights, analyze
from gigforge.opportunities.learning import fit
from gigforge.opportunities.types import MatchingProfile, NormalizedPosting, Outcome

NEUTRAL_FEATURES = dict(zip(FEATURES, NEUTRAL, strict=True))
History = list[tuple[Mapping[str, float], Outcome]]


def features(**values: float) -> dict[str, float]:
    return {**NEUTRAL_FEATURES, **values}


def skill_history(count: int) -> History:
    """Every job won matched the user's skills; every job lost did not."""
    won: History = [(features(skill_match=1.0), "won")] * count
    lost: History = [
        (features(skill_match=0.0), "lost"),
        (features(skill_match=0.0), "ignored"),
    ] * count
    return won + lost


def crowded_wins(count: int) -> History:
    won: History = [(features(competition=1.0), "won")] * count
    lost: History = [(features(), "lost")] * count
    return won + lost


def test_with_no_outcomes_the_prior_is_returned() -> None:
    custom = replace(PRIOR, intercept=-1.0)

    assert fit([]) is PRIOR
    assert fit([], prior=custom) is custom


def test_wins_on_matching_skills_raise_the_skill_weight_and_the_probability() -> None:
    learned = fit(skill_history(10))
    posting = NormalizedPosting(
        platform="upwork",
        external_id="1",
        url="https://x.example/1",
        title="Django API",
        description="",
        description_text="",
        skills=("python", "django"),
    )
    profile = MatchingProfile(skills=("python", "django"))
    now = datetime(2026, 3, 1, tzinfo=UTC)

    assert learned.skill_match > PRIOR.skill_match
    assert (
        analyze(posting, profile, learned, now=now).success_probability
        > analyze(posting, profile, PRIOR, now=now).success_probability
    )


def test_wins_on_crowded_listings_move_the_competition_weight_towards_positive() -> None:
    few = fit(crowded_wins(3))
    many = fit(crowded_wins(30))

    assert PRIOR.competition < few.competition < many.competition
    assert many.competition > 0


def test_a_firmer_prior_moves_less_on_the_same_outcomes() -> None:
    outcomes = crowded_wins(5)

    loose = fit(outcomes, strength=1.0)
    firm = fit(outcomes, strength=50.0)

    assert abs(firm.competition - PRIOR.competition) < abs(loose.competition - PRIOR.competition)


def test_the_fit_is_the_most_probable_weights_given_outcomes_and_prior() -> None:
    outcomes: History = [
        *skill_history(4),
        *crowded_wins(3),
        (features(budget_fit=0.6, client_verified=1.0, freshness=0.9), "won"),
        (features(budget_fit=-0.7, client_rating=-1.0, excluded=1.0), "lost"),
    ]
    strength = 5.0
    learned = fit(outcomes, strength=strength)

    gradient = gradient_of_negative_log_posterior(learned, outcomes, PRIOR, strength)

    assert max(abs(value) for value in gradient) < 1e-8


def test_fitting_twice_on_the_same_outcomes_gives_identical_weights() -> None:
    outcomes = [*skill_history(6), *crowded_wins(4)]

    assert fit(outcomes) == fit(list(outcomes))


def test_perfectly_separated_outcomes_still_give_finite_weights() -> None:
    learned = fit(skill_history(200))

    assert all(math.isfinite(value) for value in learned.as_mapping().values())


def test_features_missing_from_old_outcomes_count_as_neutral() -> None:
    assert fit([({"competition": 1.0}, "won")]) == fit([(features(competition=1.0), "won")])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        fit([(features(), "maybe")])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="skill_match"):
        fit([(features(skill_match=float("nan")), "won")])
    with pytest.raises(ValueError, match="strength"):
        fit([(features(), "won")], strength=0.0)


def gradient_of_negative_log_posterior(
    weights: ModelWeights,
    outcomes: Sequence[tuple[Mapping[str, float], Outcome]],
    prior: ModelWeights,
    strength: float,
) -> list[float]:
    vector = [weights.intercept, *weights.coefficients()]
    centre = [prior.intercept, *prior.coefficients()]
    gradient = [strength * (w - c) for w, c in zip(vector, centre, strict=True)]
    for values, outcome in outcomes:
        row = [1.0, *(values[name] for name in FEATURES)]
        probability = 1.0 / (1.0 + math.exp(-sum(w * x for w, x in zip(vector, row, strict=True))))
        residual = probability - (1.0 if outcome == "won" else 0.0)
        gradient = [g + residual * x for g, x in zip(gradient, row, strict=True)]
    return gradient
