"""Scoring: each signal moves the probability the way a freelancer would expect, and says why."""

from __future__ import annotations

import math
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gigforge.opportunities.analysis import (
    FEATURES,
    NEUTRAL,
    PRIOR,
    ModelWeights,
    Scorer,
    analyze,
)
from gigforge.opportunities.types import ClientInfo, MatchingProfile, NormalizedPosting

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

POSTING = NormalizedPosting(
    platform="upwork",
    external_id="~1",
    url="https://www.upwork.com/jobs/~1",
    title="Django backend for a shipment tracker",
    description="<p>Split a Django monolith into services.</p>",
    description_text="Split a Django monolith into services and add a job queue. " * 10,
    skills=("python", "django", "postgresql", "celery", "aws"),
    category="Web Development",
    budget_kind="fixed",
    budget_min_minor=100_000,
    budget_max_minor=140_000,
    currency="USD",
    posted_at=NOW - timedelta(hours=3),
    client=ClientInfo(country="DE", payment_verified=True, rating=4.8, hires=12),
    proposals_count=45,
)
PROFILE = MatchingProfile(
    skills=("Python", "Django", "PostgreSQL", "Celery"),
    hourly_rate_minor=5_000,
    min_budget_minor=100_000,
    currency="usd",
    categories=("web development",),
)


def probability(posting: NormalizedPosting, profile: MatchingProfile = PROFILE) -> float:
    return analyze(posting, profile, now=NOW).success_probability


def test_a_better_skill_match_raises_the_probability() -> None:
    weaker = replace(PROFILE, skills=("Python",))

    assert probability(POSTING, PROFILE) > probability(POSTING, weaker)


def test_a_better_budget_fit_raises_the_probability() -> None:
    low = replace(POSTING, budget_min_minor=40_000, budget_max_minor=60_000)

    assert probability(POSTING) > probability(low)


def test_a_verified_client_raises_the_probability() -> None:
    unknown = replace(POSTING, client=replace(POSTING.client, payment_verified=None))
    unverified = replace(POSTING, client=replace(POSTING.client, payment_verified=False))

    assert probability(POSTING) > probability(unknown) > probability(unverified)


def test_fresher_listings_with_fewer_proposals_score_higher() -> None:
    older = replace(POSTING, posted_at=NOW - timedelta(days=4))
    quiet = replace(POSTING, proposals_count=2)

    assert probability(POSTING) > probability(older)
    assert probability(quiet) > probability(POSTING)


def test_an_excluded_keyword_lowers_the_probability_sharply_and_leads_the_factors() -> None:
    wordpress = replace(
        POSTING, description_text=POSTING.description_text + " Our site runs on WordPress."
    )
    profile = replace(PROFILE, excluded_keywords=("  WordPress ", "php"))

    excluded = analyze(wordpress, profile, now=NOW)

    assert probability(wordpress, PROFILE) - excluded.success_probability > 0.5
    assert excluded.success_probability < 0.1
    assert excluded.features["excluded"] == 1.0
    assert excluded.factors[0] == "Mentions an excluded keyword: wordpress"


def test_excluded_keywords_match_whole_words_only() -> None:
    javascript = replace(POSTING, title="JavaScript and Java-based tools", skills=("javascript",))

    assert (
        analyze(javascript, replace(PROFILE, excluded_keywords=("script",)), now=NOW).features[
            "excluded"
        ]
        == 0.0
    )
    found = analyze(javascript, replace(PROFILE, excluded_keywords=("java",)), now=NOW)
    assert found.features["excluded"] == 1.0


@pytest.mark.parametrize(
    ("profile", "client", "reason"),
    [
        (
            MatchingProfile(excluded_countries=("de",)),
            ClientInfo(country="DE"),
            "Client is in an excluded country: DE",
        ),
        (
            MatchingProfile(require_payment_verified=True),
            ClientInfo(payment_verified=None),
            "Client payment is not verified, which you require",
        ),
        (
            MatchingProfile(min_client_rating=4.5),
            ClientInfo(rating=3.9),
            "Client rating 3.9 is below your minimum of 4.5",
        ),
    ],
)
def test_profile_rules_about_the_client_exclude_the_listing(
    profile: MatchingProfile, client: ClientInfo, reason: str
) -> None:
    analysis = analyze(replace(POSTING, client=client), profile, now=NOW)

    assert analysis.features["excluded"] == 1.0
    assert analysis.factors[0] == reason


def test_factors_are_plain_sentences_for_the_strongest_contributions_first() -> None:
    analysis = analyze(POSTING, PROFILE, now=NOW)
    contributions = {
        name: weight * (analysis.features[name] - neutral)
        for name, weight, neutral in zip(FEATURES, PRIOR.coefficients(), NEUTRAL, strict=True)
    }
    strongest = sorted(contributions, key=lambda name: -abs(contributions[name]))[:4]

    assert strongest == ["competition", "skill_match", "freshness", "client_verified"]
    assert analysis.factors == (
        "Many proposals already (45)",
        "Matches 4 of 5 required skills",
        "Posted 3 hours ago",
        "Client payment is verified",
    )


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"budget_max_minor": 140_000}, "Budget is 40% above your minimum"),
        ({"budget_max_minor": 70_000}, "Budget is 30% below your minimum"),
        ({"budget_max_minor": 450_000}, "Budget is 4.5 times your minimum"),
        (
            {"budget_kind": "hourly", "budget_max_minor": 2_500},
            "Rate is 50% below your hourly rate",
        ),
        ({"client": ClientInfo(payment_verified=True)}, "Client payment is verified"),
        ({"client": ClientInfo(payment_verified=False)}, "Client payment is not verified"),
        ({"client": ClientInfo(rating=3.2)}, "Client rating is only 3.2 of 5"),
        ({"client": ClientInfo(hires=1)}, "Client has made 1 hire before"),
        ({"proposals_count": 3}, "3 proposals already"),
        ({"category": "Design"}, "Outside your categories (Design)"),
        ({"posted_at": NOW - timedelta(minutes=10)}, "Posted within the last hour"),
    ],
)
def test_each_signal_explains_itself_in_plain_words(changes: dict[str, Any], sentence: str) -> None:
    quiet = replace(
        POSTING, skills=(), client=ClientInfo(), proposals_count=None, posted_at=None, category=None
    )
    listing = replace(quiet, **{"budget_max_minor": None, **changes})

    assert sentence in analyze(listing, PROFILE, now=NOW).factors


def test_the_same_inputs_always_give_the_same_analysis() -> None:
    first = analyze(POSTING, PROFILE, now=NOW)
    second = analyze(replace(POSTING), replace(PROFILE), now=NOW)

    assert first == second


def test_a_scorer_prepared_once_scores_every_listing_as_analyze_does() -> None:
    learned = replace(PRIOR, skill_match=4.0, competition=-2.0)
    scorer = Scorer(PROFILE, learned)
    listings = [POSTING, replace(POSTING, skills=("go",)), replace(POSTING, currency="EUR")]

    for listing in listings:
        assert scorer.score(listing, now=NOW) == analyze(listing, PROFILE, learned, now=NOW)


def test_a_new_user_and_a_bare_listing_get_a_neutral_score() -> None:
    bare = NormalizedPosting(
        platform="rss",
        external_id="1",
        url="https://x.example/1",
        title="Job",
        description="",
        description_text="",
    )

    analysis = analyze(bare, MatchingProfile(), now=NOW)

    assert analysis.success_probability == pytest.approx(1 / (1 + math.exp(1.1)), abs=1e-4)
    assert analysis.fit_score == 50
    assert analysis.factors == ()
    assert analysis.complexity_score == 1.0


def test_a_budget_in_another_currency_is_not_compared() -> None:
    euros = analyze(replace(POSTING, currency="EUR"), PROFILE, now=NOW)

    assert euros.features["budget_fit"] == 0.0
    assert euros.estimated_hours != 28.0


def test_hours_come_from_budget_and_rate_when_both_are_known() -> None:
    assert analyze(POSTING, PROFILE, now=NOW).estimated_hours == 28.0
    hourly = analyze(
        replace(POSTING, budget_kind="hourly", budget_max_minor=6_000), PROFILE, now=NOW
    )
    assert hourly.estimated_hours == round(4.0 * 2.5 ** (hourly.complexity_score - 1.0), 1)


def test_bigger_jobs_read_as_more_complex() -> None:
    small = replace(
        POSTING,
        description_text="Fix a typo.",
        skills=("html",),
        budget_min_minor=None,
        budget_max_minor=5_000,
    )
    big = replace(
        POSTING,
        description_text="word " * 2000,
        skills=tuple(f"s{n}" for n in range(10)),
        budget_max_minor=2_000_000,
    )

    assert (
        analyze(small, PROFILE, now=NOW).complexity_score
        < analyze(POSTING, PROFILE, now=NOW).complexity_score
    )
    assert analyze(big, PROFILE, now=NOW).complexity_score == 5.0


@pytest.mark.parametrize(
    "listing",
    [
        POSTING,
        replace(POSTING, description_text="", skills=(), budget_kind=None, currency=None),
        replace(POSTING, budget_kind="hourly", budget_min_minor=1, budget_max_minor=10**11),
        replace(POSTING, client=ClientInfo(rating=0.0, hires=10**6), proposals_count=10**6),
        replace(POSTING, posted_at=NOW + timedelta(days=2)),
        replace(POSTING, posted_at=datetime(2026, 3, 1, 11, 0)),
    ],
)
def test_every_analysis_fits_the_seed_contract(listing: NormalizedPosting) -> None:
    analysis = analyze(listing, PROFILE, now=NOW)

    assert 1.0 <= analysis.complexity_score <= 5.0
    assert analysis.complexity_score == round(analysis.complexity_score, 1)
    assert 0.0 < analysis.success_probability < 1.0
    assert analysis.estimated_hours > 0
    assert 0 <= analysis.fit_score <= 100
    assert len(analysis.factors) <= 4
    assert set(analysis.features) == set(FEATURES)


def test_weights_list_the_features_in_order_and_round_trip_through_storage() -> None:
    assert [field.name for field in fields(ModelWeights)] == ["intercept", *FEATURES]
    assert ModelWeights.from_mapping(PRIOR.as_mapping()) == PRIOR
    partial = ModelWeights.from_mapping({"skill_match": 1.0, "retired_feature": 9.0})
    assert partial == replace(PRIOR, skill_match=1.0)
    with pytest.raises(ValueError, match="skill_match"):
        ModelWeights.from_mapping({"skill_match": float("inf")})


def test_the_prior_signs_match_what_a_freelancer_would_expect() -> None:
    assert PRIOR.skill_match > PRIOR.budget_fit > 0
    assert PRIOR.excluded < -sum(abs(w) for w in PRIOR.coefficients() if w > 0) / 2
    assert PRIOR.competition < 0
    assert (
        min(PRIOR.client_verified, PRIOR.client_rating, PRIOR.client_history, PRIOR.freshness) > 0
    )
