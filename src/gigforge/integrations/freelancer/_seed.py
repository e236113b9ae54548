"""The sandbox's fixture data: the connected freelancer, three clients and seven active projects
across currencies, budget kinds and ages, enough for several search pages."""

from __future__ import annotations

from typing import Any

SANDBOX_USER_ID = 31245001
SEED_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z


def _user(user_id: int, username: str, name: str, country: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "display_name": name,
        "role": extra.pop("role", "employer"),
        "location": {"country": {"name": country}},
        "status": {"payment_verified": extra.pop("payment_verified", True)},
        **extra,
    }


def seed_users() -> dict[int, dict[str, Any]]:
    users = [
        _user(SANDBOX_USER_ID, "gigforge_dev", "Gigforge Dev", "Portugal", role="freelancer"),
        _user(
            72001,
            "northwind_ops",
            "Northwind Ops",
            "Australia",
            employer={"entire_history": {"overall": 4.9, "reviews": 37}},
        ),
        _user(
            72002,
            "lumen_studio",
            "Lumen Studio",
            "Germany",
            employer={"entire_history": {"overall": 4.6, "reviews": 12}},
        ),
        _user(72003, "kite_retail", "Kite Retail", "India", payment_verified=False),
    ]
    return {user["id"]: user for user in users}


def _project(
    project_id: int,
    title: str,
    owner_id: int,
    currency: str,
    budget: dict[str, float],
    skills: list[tuple[int, str]],
    age_hours: int,
    *,
    kind: str = "fixed",
    bids: int = 0,
) -> dict[str, Any]:
    description = f"{title}. Details, milestones and acceptance criteria are in the brief."
    submitted = SEED_EPOCH - age_hours * 3600
    return {
        "id": project_id,
        "owner_id": owner_id,
        "title": title,
        "status": "active",
        "seo_url": f"{skills[0][1].lower().replace(' ', '-')}/{title.lower().replace(' ', '-')}",
        "currency": {"code": currency},
        "description": description,
        "preview_description": description[:60],
        "type": kind,
        "budget": budget,
        "jobs": [
            {"id": i, "name": n, "category": {"id": 1, "name": "Websites, IT & Software"}}
            for i, n in skills
        ],
        "bid_stats": {"bid_count": bids, "bid_avg": None},
        "time_submitted": submitted,
        "time_updated": submitted,
        "hidebids": False,
    }


def seed_projects() -> dict[int, dict[str, Any]]:
    projects = [
        _project(
            40100001,
            "Build a FastAPI backend for a booking app",
            72001,
            "USD",
            {"minimum": 750, "maximum": 1500},
            [(13, "Python"), (2317, "FastAPI")],
            1,
            bids=4,
        ),
        _project(
            40100002,
            "Shopify theme tweaks",
            72003,
            "INR",
            {"minimum": 12500, "maximum": 37500},
            [(1153, "Shopify")],
            2,
            bids=11,
        ),
        _project(
            40100003,
            "Data pipeline maintenance",
            72002,
            "EUR",
            {"minimum": 25, "maximum": 40},
            [(13, "Python"), (1092, "ETL")],
            3,
            kind="hourly",
        ),
        _project(
            40100004,
            "Logo for a coffee roaster",
            72001,
            "AUD",
            {"minimum": 30},
            [(32, "Logo Design")],
            5,
            bids=27,
        ),
        _project(
            40100005,
            "Scrape-free price monitor using partner APIs",
            72002,
            "GBP",
            {"minimum": 250, "maximum": 750},
            [(13, "Python"), (95, "API")],
            8,
        ),
        _project(
            40100006,
            "React dashboard for IoT sensors",
            72001,
            "USD",
            {"minimum": 1500, "maximum": 3000},
            [(759, "React.js")],
            13,
            bids=2,
        ),
        _project(
            40100007,
            "Technical writing: API reference",
            72003,
            "USD",
            {"minimum": 10, "maximum": 30},
            [(1196, "Technical Writing")],
            21,
            kind="hourly",
        ),
    ]
    return {project["id"]: project for project in projects}
