"""The sandbox's seeded job postings, shaped like Upwork's `MarketplaceJobPostingSearchResult`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def seed_postings(now: float) -> list[dict[str, Any]]:
    """Postings shaped like `MarketplaceJobPostingSearchResult`, some with fields missing the
    way real ones are: no hourly range on fixed jobs, a zero amount on hourly ones, private
    spend, a client without a location."""

    def posting(
        number: int,
        title: str,
        description: str,
        skills: list[str],
        hours_ago: float,
        budget: dict[str, Any],
        client: dict[str, Any] | None,
        applicants: int,
        category: str = "Web, Mobile & Software Dev",
    ) -> dict[str, Any]:
        return {
            "id": f"178{number:016d}",
            "ciphertext": f"~01{number:04d}c0ffee5a4dbe{number:02d}",
            "title": title,
            "description": description,
            "createdDateTime": _when(now, hours_ago + 0.5),
            "publishedDateTime": _when(now, hours_ago),
            "renewedDateTime": None,
            "category": category,
            "subcategory": None,
            "experienceLevel": "INTERMEDIATE",
            "duration": "WEEK",
            "durationLabel": "1 to 3 months",
            "engagement": "Less than 30 hrs/week",
            "totalApplicants": applicants,
            "preferredFreelancerLocation": [],
            "applied": False,
            "skills": [{"name": skill.lower(), "prettyName": skill} for skill in skills],
            "amount": budget.get("amount", _money(0)),
            "hourlyBudgetMin": budget.get("min"),
            "hourlyBudgetMax": budget.get("max"),
            "client": client,
        }

    def client(
        country: str | None, verified: bool, hires: int, spent: float | None, feedback: float
    ) -> dict[str, Any]:
        return {
            "totalHires": hires,
            "totalPostedJobs": hires + 3,
            "totalReviews": max(hires - 1, 0),
            "totalFeedback": feedback,
            "verificationStatus": "VERIFIED" if verified else "NOT_VERIFIED",
            "hasFinancialPrivacy": spent is None,
            "totalSpent": _money(spent) if spent is not None else None,
            "location": {"country": country, "city": None} if country else None,
        }

    hourly = {"min": _money(40), "max": _money(70)}
    return [
        posting(
            1,
            "FastAPI backend for a booking platform",
            "Build REST endpoints, PostgreSQL models and background jobs for our booking app.",
            ["Python", "FastAPI", "PostgreSQL"],
            2,
            hourly,
            client("United States", True, 14, 28450.5, 4.9),
            12,
        ),
        posting(
            2,
            "Fix checkout bugs in a Shopify store",
            "Our cart drops discount codes at checkout; find and fix the theme bug.",
            ["Shopify", "Liquid", "JavaScript"],
            5,
            {"amount": _money(250)},
            client("Canada", True, 3, 1200, 4.6),
            5,
        ),
        posting(
            3,
            "Airflow data pipeline for marketing analytics",
            "Move nightly CSV loads into Airflow DAGs writing to BigQuery.",
            ["Python", "Apache Airflow", "BigQuery"],
            26,
            {"min": _money(50), "max": _money(90)},
            client("Germany", True, 22, 96000, 4.8),
            19,
            "Data Science & Analytics",
        ),
        posting(
            4,
            "React dashboard for IoT sensor data",
            "Charts and alerts for temperature sensors, from an existing REST API.",
            ["React", "TypeScript", "Chart.js"],
            30,
            {"amount": _money(1200)},
            client("United Kingdom", False, 0, 0, 0),
            31,
        ),
        posting(
            5,
            "Add an LLM assistant to our support desk",
            "Answer customer questions from our help-centre articles with citations.",
            ["Python", "OpenAI API", "LangChain"],
            50,
            {"min": _money(35)},
            client(None, True, 6, None, 4.4),
            44,
        ),
        posting(
            6,
            "WordPress plugin to sync WooCommerce orders",
            "Send new WooCommerce orders to our warehouse API and record tracking numbers.",
            ["WordPress", "PHP", "WooCommerce"],
            75,
            {"amount": _money(400)},
            client("Australia", True, 9, None, 5.0),
            8,
        ),
        posting(
            7,
            "Migrate a Django REST API to Django 5",
            "Upgrade dependencies, fix deprecations and keep the test suite green.",
            ["Python", "Django", "Django REST Framework"],
            98,
            {"amount": _money(800)},
            client("Netherlands", True, 5, 15300, 4.7),
            16,
        ),
        posting(
            8,
            "Technical writer for API reference docs",
            "Write reference pages and a getting-started guide for our payments API.",
            ["Technical Writing", "API Documentation"],
            140,
            {},
            None,
            3,
            "Writing",
        ),
    ]


def _money(amount: float, currency: str = "USD") -> dict[str, str]:
    return {"rawValue": f"{amount:.2f}", "currency": currency, "displayValue": f"${amount:,.2f}"}


def _when(now: float, hours_ago: float) -> str:
    moment = datetime.fromtimestamp(now - hours_ago * 3600, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
