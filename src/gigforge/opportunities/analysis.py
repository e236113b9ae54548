"""Scoring a listing for one user with a model small enough to explain every number it gives.

Nine features, each a plain reading of the listing against the user's profile and each kept in
[-1, 1], feed a logistic model: success_probability = sigmoid(intercept + sum(weight * feature)).
A new user gets the hand-set `PRIOR`; `gigforge.opportunities.learning` moves the weights as
their outcomes come in. The factors shown with a score are the features that moved it most
away from a neutral listing, so the explanation and the number always agree.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

from gigforge.kit.money import minor_to_major
from gigforge.opportunities.types import Analysis, MatchingProfile, NormalizedPosting

FEATURES: Final = (
    "skill_match",  # share of the job's skills the user has; 0.5 when either side lists none
    "budget_fit",  # tanh of log(budget / the user's minimum or rate); 0 when not comparable
    "client_verified",  # +1 payment verified, -1 not, 0 unknown
    "client_rating",  # (rating - 4) clipped to [-1, 1]; 0 unknown
    "client_history",  # log1p(hires) scaled to [0, 1]; 0 unknown
    "competition",  # log1p(proposals) scaled to [0, 1]; 0 unknown
    "freshness",  # 1 when just posted, halving every day; 0 unknown
    "excluded",  # 1 when the profile rules the listing out
    "category_match",  # +1 in the user's categories, -1 outside, 0 when either is empty
)
# What a listing that says nothing scores; factors measure distance from here.
NEUTRAL: Final = (0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

_HISTORY_SCALE = math.log1p(30)  # thirty hires reads as an established client
_COMPETITION_SCALE = math.log1p(50)  # fifty proposals is as crowded as a listing gets
_FRESHNESS_HALF_LIFE_HOURS = 24.0
_MAX_LOGIT = 30.0
_NOTABLE = 0.05  # a smaller nudge is noise, not a reason
_MAX_FACTORS = 4
_MAX_HOURS = 2000.0  # a working year; a budget implying more is a typo or a retainer


@dataclass(frozen=True, slots=True)
class ModelWeights:
    """A logistic model over `FEATURES`; frozen so a fitted model can be cached and shared."""

    intercept: float
    skill_match: float
    budget_fit: float
    client_verified: float
    client_rating: float
    client_history: float
    competition: float
    freshness: float
    excluded: float
    category_match: float

    def coefficients(self) -> tuple[float, ...]:
        """The feature weights in `FEATURES` order, without the intercept."""
        return (
            self.skill_match,
            self.budget_fit,
            self.client_verified,
            self.client_rating,
            self.client_history,
            self.competition,
            self.freshness,
            self.excluded,
            self.category_match,
        )

    def as_mapping(self) -> dict[str, float]:
        return {
            "intercept": self.intercept,
            **dict(zip(FEATURES, self.coefficients(), strict=True)),
        }

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, float], *, default: ModelWeights | None = None
    ) -> ModelWeights:
        """Stored weights back; a name they lack (a feature added since) keeps the default."""
        merged = (default or PRIOR).as_mapping()
        for name in merged:
            if name in values:
                merged[name] = float(values[name])
                if not math.isfinite(merged[name]):
                    raise ValueError(f"weight {name} is not a finite number")
        return cls(**merged)


PRIOR: Final = ModelWeights(
    # A listing with nothing to go on scores about 0.25: most proposals on open boards lose.
    intercept=-2.6,
    # Clients hire people who already do the work: the largest swing, ±1.5 from neutral.
    skill_match=3.0,
    # Pay well above the user's floor is worth a bid; far below it rarely ends well.
    budget_fit=1.2,
    # Verified payment means a real client with a card on file; unverified often means neither.
    client_verified=0.5,
    # Ratings cluster near 5, so a point below 4 is a real warning but mild either way.
    client_rating=0.4,
    # A client who has hired before will hire again; new clients often just browse.
    client_history=0.6,
    # Each extra proposal shares the odds, and late bids on crowded listings are rarely read.
    competition=-1.0,
    # The first proposals are read first.
    freshness=0.6,
    # The user said no: outweighs every other signal together.
    excluded=-5.0,
    # Work in the user's own categories wins more often, but skills already say most of it.
    category_match=0.4,
)


@dataclass(frozen=True, slots=True)
class _Terms:
    """A profile's lists prepared once for the thousands of listings scored against it."""

    skills: frozenset[str]
    categories: frozenset[str]
    countries: frozenset[str]
    keywords: tuple[str, ...]
    keyword_pattern: re.Pattern[str] | None
    currency: str


def _terms(profile: MatchingProfile) -> _Terms:
    keywords = tuple(
        sorted(
            {_term(word) for word in profile.excluded_keywords} - {""}, key=lambda w: (-len(w), w)
        )
    )
    pattern = (
        re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, keywords)) + r")(?!\w)")
        if keywords
        else None
    )
    return _Terms(
        skills=frozenset(_term(skill) for skill in profile.skills) - {""},
        categories=frozenset(_term(category) for category in profile.categories) - {""},
        countries=frozenset(_term(country) for country in profile.excluded_countries) - {""},
        keywords=keywords,
        keyword_pattern=pattern,
        currency=profile.currency.strip().upper(),
    )


def _term(value: str) -> str:
    return " ".join(value.split()).lower()


def analyze(
    posting: NormalizedPosting,
    profile: MatchingProfile,
    weights: ModelWeights = PRIOR,
    *,
    now: datetime | None = None,
) -> Analysis:
    """Score one listing for one user; the same inputs (and `now`) always give the same result."""
    return _scorer(profile, weights).score(posting, now=now or datetime.now(UTC))


@lru_cache(maxsize=256)
def _scorer(profile: MatchingProfile, weights: ModelWeights) -> Scorer:
    return Scorer(profile, weights)


class Scorer:
    """Scores listings for one user. The profile's terms and the model's coefficients are
    prepared here once rather than per listing: a scan builds one and scores thousands."""

    __slots__ = ("_coefficients", "_intercept", "_profile", "_terms")

    def __init__(self, profile: MatchingProfile, weights: ModelWeights = PRIOR) -> None:
        self._profile = profile
        self._terms = _terms(profile)
        self._intercept = weights.intercept
        self._coefficients = weights.coefficients()

    def score(self, posting: NormalizedPosting, *, now: datetime) -> Analysis:
        """What `analyze` returns for this scorer's profile and weights."""
        profile, terms = self._profile, self._terms
        client = posting.client
        skills = posting.skills
        matched = sum(1 for skill in skills if skill in terms.skills)
        ratio = _budget_ratio(posting, profile, terms.currency)
        hours_old = _hours_since(posting.posted_at, now)
        exclusion = _exclusion(posting, profile, terms)
        skill_match = matched / len(skills) if skills and terms.skills else 0.5
        # tanh(log(ratio)), written without either: 0 at par, +-0.6 at double or half.
        budget_fit = 0.0 if ratio is None else (ratio * ratio - 1.0) / (ratio * ratio + 1.0)
        verified = client.payment_verified
        category_match = _category_match(posting.category, terms.categories)
        values = (
            skill_match,
            budget_fit,
            0.0 if verified is None else (1.0 if verified else -1.0),
            0.0 if client.rating is None else min(max(client.rating - 4.0, -1.0), 1.0),
            _scaled_log(client.hires, _HISTORY_SCALE),
            _scaled_log(posting.proposals_count, _COMPETITION_SCALE),
            0.0 if hours_old is None else 0.5 ** (hours_old / _FRESHNESS_HALF_LIFE_HOURS),
            0.0 if exclusion is None else 1.0,
            category_match,
        )
        coefficients = self._coefficients
        logit = self._intercept + sum(map(operator.mul, coefficients, values))
        logit = min(max(logit, -_MAX_LOGIT), _MAX_LOGIT)
        probability = min(max(1.0 / (1.0 + math.exp(-logit)), 0.01), 0.99)

        strengths = [
            abs(w * (x - n)) for w, x, n in zip(coefficients, values, NEUTRAL, strict=True)
        ]
        # Strongest first; a stable sort breaks ties in FEATURES order, so wording never flickers.
        ranked = sorted(range(len(FEATURES)), key=strengths.__getitem__, reverse=True)
        notable = [index for index in ranked if strengths[index] >= _NOTABLE]
        factors = tuple(
            _sentence(FEATURES[index], values[index], posting, matched, ratio, hours_old, exclusion)
            for index in notable[:_MAX_FACTORS]
        )

        # Fit is about the work and the pay, not the client or the crowd, each mapped to [0, 1].
        fit = (
            0.6 * skill_match
            + 0.25 * (budget_fit + 1.0) / 2.0
            + 0.15 * (category_match + 1.0) / 2.0
        )
        complexity = _complexity(posting)
        return Analysis(
            complexity_score=complexity,
            success_probability=round(probability, 4),
            estimated_hours=_estimated_hours(posting, profile, terms.currency, complexity),
            fit_score=min(max(round(100 * fit), 0), 100),
            factors=factors,
            features=dict(zip(FEATURES, values, strict=True)),
        )


def _scaled_log(count: int | None, scale: float) -> float:
    return 0.0 if count is None else min(math.log1p(max(count, 0)) / scale, 1.0)


def _upper_amount(posting: NormalizedPosting) -> int | None:
    """What the client is prepared to pay at most, which is what a bid is measured against."""
    amount = posting.budget_max_minor or posting.budget_min_minor
    return amount if amount is not None and amount > 0 else None


def _budget_ratio(
    posting: NormalizedPosting, profile: MatchingProfile, currency: str
) -> float | None:
    """Budget over the user's floor for fixed work, or over their rate for hourly work.

    None when either side is unknown or the currencies differ: guessing an exchange rate here
    would dress a guess up as a fact.
    """
    amount = _upper_amount(posting)
    if amount is None or posting.currency != currency:
        return None
    if posting.budget_kind == "fixed":
        target = profile.min_budget_minor
    elif posting.budget_kind == "hourly":
        target = profile.hourly_rate_minor
    else:
        return None
    return amount / target if target is not None and target > 0 else None


def _hours_since(posted_at: datetime | None, now: datetime) -> float | None:
    if posted_at is None:
        return None
    if posted_at.utcoffset() is None:
        posted_at = posted_at.replace(tzinfo=UTC)
    if now.utcoffset() is None:
        now = now.replace(tzinfo=UTC)
    return max((now - posted_at).total_seconds() / 3600.0, 0.0)


def _category_match(category: str | None, categories: frozenset[str]) -> float:
    if not category or not categories:
        return 0.0
    return 1.0 if _term(category) in categories else -1.0


def _exclusion(posting: NormalizedPosting, profile: MatchingProfile, terms: _Terms) -> str | None:
    """Why the profile rules this listing out, or None; the first reason found is enough."""
    if terms.keyword_pattern is not None:
        text = f"{posting.title}\n{posting.description_text}\n{' '.join(posting.skills)}".lower()
        # A substring test is far cheaper than the regex and almost always says no.
        if any(keyword in text for keyword in terms.keywords):
            found = terms.keyword_pattern.search(text)
            if found is not None:
                return f"Mentions an excluded keyword: {found.group()}"
    client = posting.client
    if client.country and _term(client.country) in terms.countries:
        return f"Client is in an excluded country: {client.country}"
    if profile.require_payment_verified and client.payment_verified is not True:
        return "Client payment is not verified, which you require"
    minimum = profile.min_client_rating
    if minimum is not None and client.rating is not None and client.rating < minimum:
        return f"Client rating {client.rating:.1f} is below your minimum of {minimum:.1f}"
    return None


def _sentence(
    feature: str,
    value: float,
    posting: NormalizedPosting,
    matched: int,
    ratio: float | None,
    hours_old: float | None,
    exclusion: str | None,
) -> str:
    """One plain sentence for a feature that moved the score; only called when it did."""
    client = posting.client
    if feature == "skill_match":
        return f"Matches {matched} of {_plural(len(posting.skills), 'required skill')}"
    if feature == "budget_fit" and ratio is not None:
        fixed = posting.budget_kind == "fixed"
        subject, target = ("Budget", "your minimum") if fixed else ("Rate", "your hourly rate")
        if ratio >= 2.0:
            return f"{subject} is {ratio:.1f} times {target}"
        percent = round(abs(ratio - 1.0) * 100)
        if percent == 0:
            return f"{subject} matches {target}"
        return f"{subject} is {percent}% {'above' if ratio > 1.0 else 'below'} {target}"
    if feature == "client_verified":
        return f"Client payment is {'verified' if value > 0 else 'not verified'}"
    if feature == "client_rating" and client.rating is not None:
        qualifier = "only " if client.rating < 4.0 else ""
        return f"Client rating is {qualifier}{client.rating:.1f} of 5"
    if feature == "client_history" and client.hires is not None:
        return f"Client has made {_plural(client.hires, 'hire')} before"
    if feature == "competition" and posting.proposals_count is not None:
        count = posting.proposals_count
        if count >= 20:
            return f"Many proposals already ({count})"
        return f"{_plural(count, 'proposal')} already"
    if feature == "freshness" and hours_old is not None:
        if hours_old < 1.0:
            return "Posted within the last hour"
        if hours_old < 48.0:
            return f"Posted {_plural(int(hours_old), 'hour')} ago"
        return f"Posted {_plural(int(hours_old // 24), 'day')} ago"
    if feature == "excluded" and exclusion is not None:
        return exclusion
    if feature == "category_match" and posting.category:
        if value > 0:
            return f"In your category: {posting.category}"
        return f"Outside your categories ({posting.category})"
    raise ValueError(f"{feature} moved the score without the data to explain it")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# Complexity blends three readings of size, each scaled to [0, 1]; a missing one is left out
# rather than counted as small. Amounts are nominal (no exchange rates here), so in currencies
# worth far less than a dollar a budget reads as larger than it is.
_TEXT_SHARE = 0.4  # description length: 300 characters -> 0, 3,000 or more -> 1 (log scale)
_SKILLS_SHARE = 0.3  # listed skills: none -> 0, eight or more -> 1
_BUDGET_SHARE = 0.3  # fixed: 100 -> 0, 10,000 -> 1; hourly rate: 15 -> 0, 150 -> 1 (log scale)
# Hours when the budget cannot say: 4 at complexity 1, growing 2.5-fold per step to ~156 at 5.
_BASE_HOURS = 4.0
_HOURS_GROWTH = 2.5


def _complexity(posting: NormalizedPosting) -> float:
    """1 + 4 x the weighted mean of the known size readings, to one decimal: always 1 to 5."""
    length = max(len(posting.description_text), 1)
    total = _TEXT_SHARE * _unit(math.log10(length / 300.0))
    total += _SKILLS_SHARE * min(len(posting.skills) / 8.0, 1.0)
    shares = _TEXT_SHARE + _SKILLS_SHARE
    budget = _budget_size(posting)
    if budget is not None:
        total += _BUDGET_SHARE * budget
        shares += _BUDGET_SHARE
    return round(1.0 + 4.0 * total / shares, 1)


def _budget_size(posting: NormalizedPosting) -> float | None:
    amount = _upper_amount(posting)
    if amount is None or posting.currency is None:
        return None
    major = amount * _major_unit(posting.currency)
    if posting.budget_kind == "fixed":
        return _unit(math.log10(major / 100.0) / 2.0)
    if posting.budget_kind == "hourly":
        return _unit(math.log10(major / 15.0))
    return None


@lru_cache(maxsize=64)
def _major_unit(currency: str) -> float:
    """One minor unit in major units (0.01 for USD, 1 for JPY), worked out once per currency."""
    return float(minor_to_major(1, currency))


def _estimated_hours(
    posting: NormalizedPosting, profile: MatchingProfile, currency: str, complexity: float
) -> float:
    """A fixed budget at the user's rate says how long the client expects; else size decides."""
    amount = _upper_amount(posting)
    rate = profile.hourly_rate_minor
    if (
        posting.budget_kind == "fixed"
        and amount is not None
        and rate is not None
        and rate > 0
        and posting.currency == currency
    ):
        hours = amount / rate
    else:
        hours = _BASE_HOURS * _HOURS_GROWTH ** (complexity - 1.0)
    return min(max(round(hours, 1), 0.1), _MAX_HOURS)


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0)
