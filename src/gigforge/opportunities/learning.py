"""Learning a user's weights from what happened to the listings they were shown.

The model is the logistic regression of `gigforge.opportunities.analysis`:
P(won) = sigmoid(w0 + sum(w_i * x_i)) over the stored features of each listing. A new user has
seen nothing, so their weights start at a prior (`PRIOR`, hand-set and explained there), and
each outcome should move them a little, never lurch them. That is maximum a posteriori
estimation with a Gaussian prior centred on the prior weights:

    minimise  sum_j [log(1 + exp(z_j)) - y_j * z_j]  +  strength / 2 * ||w - prior||^2

with y_j = 1 for "won" and 0 for "lost" or "ignored", z_j the listing's logit, and w including
the intercept. `strength` is how firmly the prior holds: each outcome adds at most 1/4 per unit
of feature to the curvature that the prior's `strength` competes with, so at the default of 5 a
weight moves far from its prior only after a few dozen consistent outcomes. No outcomes gives
the prior back unchanged.

The penalty makes the objective strictly convex even for a handful of outcomes or perfectly
separated ones, so Newton's method (with step halving as a guard) reaches its single minimum in
a few iterations. Ten parameters make the linear solve trivial in pure Python, and summing in a
fixed order makes every fit bit-for-bit repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from gigforge.opportunities.analysis import FEATURES, NEUTRAL, PRIOR, ModelWeights
from gigforge.opportunities.types import Outcome

_LABELS: Final[Mapping[str, float]] = {"won": 1.0, "lost": 0.0, "ignored": 0.0}
_MAX_ITERATIONS = 50
_MIN_STEP_SCALE = 1e-6
_TOLERANCE = 1e-10

Vector = list[float]
Matrix = list[list[float]]


def fit(
    outcomes: Sequence[tuple[Mapping[str, float], Outcome]],
    *,
    prior: ModelWeights = PRIOR,
    strength: float = 5.0,
) -> ModelWeights:
    """The most probable weights given these outcomes and the prior; the prior if none.

    Features missing from a stored listing (scored before the feature existed) count as
    neutral, so old outcomes still teach what they can.
    """
    if not (math.isfinite(strength) and strength > 0):
        raise ValueError("strength must be a positive number")
    if not outcomes:
        return prior
    rows = [_row(features) for features, _ in outcomes]
    labels = [_label(outcome) for _, outcome in outcomes]
    centre = [prior.intercept, *prior.coefficients()]
    weights = list(centre)
    objective = _objective(weights, rows, labels, centre, strength)
    for _ in range(_MAX_ITERATIONS):
        gradient, hessian = _derivatives(weights, rows, labels, centre, strength)
        step = _solve(hessian, gradient)
        scale = 1.0
        while True:
            candidate = [w - scale * s for w, s in zip(weights, step, strict=True)]
            value = _objective(candidate, rows, labels, centre, strength)
            if value <= objective or scale < _MIN_STEP_SCALE:
                break
            scale /= 2.0
        if value > objective:
            break
        weights, objective = candidate, value
        if max(abs(scale * s) for s in step) < _TOLERANCE:
            break
    return ModelWeights.from_mapping(dict(zip(("intercept", *FEATURES), weights, strict=True)))


def _row(features: Mapping[str, float]) -> Vector:
    row = [1.0]
    for name, neutral in zip(FEATURES, NEUTRAL, strict=True):
        value = float(features.get(name, neutral))
        if not math.isfinite(value):
            raise ValueError(f"feature {name} is not a finite number")
        row.append(value)
    return row


def _label(outcome: str) -> float:
    try:
        return _LABELS[outcome]
    except KeyError:
        raise ValueError(f"unknown outcome {outcome!r}") from None


def _logit(weights: Vector, row: Vector) -> float:
    return math.fsum(w * x for w, x in zip(weights, row, strict=True))


def _objective(
    weights: Vector, rows: list[Vector], labels: Vector, centre: Vector, strength: float
) -> float:
    """Negative log posterior, up to a constant."""
    loss = 0.0
    for row, label in zip(rows, labels, strict=True):
        z = _logit(weights, row)
        # log(1 + e^z) without overflow for large |z|.
        softplus = z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))
        loss += softplus - label * z
    penalty = math.fsum((w - c) ** 2 for w, c in zip(weights, centre, strict=True))
    return loss + strength / 2.0 * penalty


def _derivatives(
    weights: Vector, rows: list[Vector], labels: Vector, centre: Vector, strength: float
) -> tuple[Vector, Matrix]:
    size = len(weights)
    gradient = [strength * (w - c) for w, c in zip(weights, centre, strict=True)]
    hessian = [[strength if i == j else 0.0 for j in range(size)] for i in range(size)]
    for row, label in zip(rows, labels, strict=True):
        z = _logit(weights, row)
        probability = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else 1.0 - 1.0 / (1.0 + math.exp(z))
        residual = probability - label
        curvature = probability * (1.0 - probability)
        for i in range(size):
            gradient[i] += residual * row[i]
            scaled = curvature * row[i]
            hessian_row = hessian[i]
            for j in range(i + 1):
                hessian_row[j] += scaled * row[j]
    for i in range(size):
        for j in range(i):
            hessian[j][i] = hessian[i][j]
    return gradient, hessian


def _solve(matrix: Matrix, vector: Vector) -> Vector:
    """x with matrix @ x == vector, by Cholesky: the Hessian here is symmetric positive definite."""
    size = len(vector)
    lower = [[0.0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1):
            total = matrix[i][j] - math.fsum(lower[i][k] * lower[j][k] for k in range(j))
            lower[i][j] = math.sqrt(total) if i == j else total / lower[j][j]
    forward = [0.0] * size
    for i in range(size):
        earlier = math.fsum(lower[i][k] * forward[k] for k in range(i))
        forward[i] = (vector[i] - earlier) / lower[i][i]
    solution = [0.0] * size
    for i in reversed(range(size)):
        later = math.fsum(lower[k][i] * solution[k] for k in range(i + 1, size))
        solution[i] = (forward[i] - later) / lower[i][i]
    return solution
