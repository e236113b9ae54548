"""Near-duplicate fingerprints: same text, same bits; small edits, few bits; other jobs, many."""

from __future__ import annotations

import hashlib
import random
import statistics
import subprocess
import sys

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.opportunities.dedupe import (
    NEAR_DUPLICATE_DISTANCE,
    bands,
    fingerprint_signed,
    fingerprint_unsigned,
    hamming,
    is_near_duplicate,
    simhash,
    simhash_text,
)
from gigforge.opportunities.normalize import normalize

PIPELINE_JOB = (
    "We are a small logistics startup looking for an experienced backend developer to help us "
    "build the next version of our shipment tracking platform. The current system is a Django "
    "monolith backed by PostgreSQL, and it has grown organically over three years. We want to "
    "split the tracking and notification parts into separate services, add a proper job queue, "
    "and improve test coverage before our busy season starts in the autumn. Responsibilities "
    "include designing the service boundaries with our CTO, writing clean and well tested Python "
    "code, setting up Celery or a similar task runner, migrating the existing data without "
    "downtime, and documenting the new architecture so our two junior developers can maintain "
    "it. You will also review pull requests and help us set up continuous integration on GitHub "
    "Actions. Requirements: at least five years of professional Python experience, strong "
    "knowledge of Django and PostgreSQL, experience with message queues such as RabbitMQ or "
    "Redis, and a track record of shipping reliable production systems. Experience with Docker "
    "and AWS is a plus. Please tell us about a similar migration you have done, how long it "
    "took, and what you would do differently today. We expect the project to take about three "
    "months, working roughly twenty hours a week, with the possibility of a longer engagement "
    "afterwards."
)
PIPELINE_DETAILS = (
    "About the current setup: the monolith runs on two EC2 instances behind a load balancer, "
    "with a single PostgreSQL database of roughly four hundred gigabytes. Tracking events arrive "
    "from carrier webhooks and from a nightly batch import, and both paths write directly to the "
    "same tables. Notifications are sent by email and SMS from inside the request cycle, which "
    "makes the API slow whenever a carrier sends a burst of updates. We would like the new "
    "notification service to consume events from a queue, retry failed deliveries with backoff, "
    "and keep an audit trail that our support team can search. For the tracking service we care "
    "most about idempotent event handling, because carriers often send the same update several "
    "times, and about clear metrics so we can see delays before customers do. We already use "
    "Sentry and Grafana, and we would like the new services to report to both. You will have "
    "access to a staging environment with anonymised production data, and our CTO is available "
    "for a call twice a week to answer questions and review designs. We value clear written "
    "communication, small pull requests, and honest estimates over optimistic ones."
)
LOGO_JOB = (
    "Looking for a graphic designer to create a logo and brand guidelines for our new coffee "
    "shop. We like warm colors, hand drawn elements and a friendly feel. Please share your "
    "portfolio and tell us your price for three initial concepts and two rounds of revisions."
)
SCRAPER_JOB = (
    "Need a scraper that collects product prices from five online shops every morning and "
    "writes them to a Google Sheet. The shops use infinite scrolling and some require a login. "
    "Deliverables are the source code, a short setup guide and one month of fixes if a shop "
    "changes its layout."
)


def make_posting(title: str, description: str) -> JobPosting:
    return JobPosting(
        platform="upwork",
        external_id="~1",
        url="https://www.upwork.com/jobs/~1",
        title=title,
        description=description,
    )


def textbook_simhash(text: str) -> int:
    """SimHash spelled out shingle by shingle, as the dedupe module documents it."""
    words = [
        word.encode()
        for word in "".join(
            " " if c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" else c for c in text.lower()
        ).split()
    ]
    digests = [hashlib.blake2b(word, digest_size=8).digest() for word in words]
    if len(words) < 3:
        hashes = [int.from_bytes(digest, "little") for digest in digests]
    else:
        hashes = []
        for first, second, third in zip(digests, digests[1:], digests[2:], strict=False):
            mixed = bytes(
                a ^ ((167 * b + 13) & 0xFF) ^ ((89 * c + 101) & 0xFF)
                for a, b, c in zip(first, second, third, strict=True)
            )
            hashes.append(int.from_bytes(mixed, "little"))
    return sum(
        1 << bit
        for bit in range(64)
        if 2 * sum((value >> bit) & 1 for value in hashes) > len(hashes)
    )


def test_the_fingerprint_is_the_documented_simhash() -> None:
    for text in (PIPELINE_JOB, LOGO_JOB, "Python developer", "Rust", "one two three"):
        assert simhash_text(text) == textbook_simhash(text)
    assert simhash_text("") == simhash_text("  ... !!") == 0


def test_the_fingerprint_is_the_same_in_every_process() -> None:
    script = (
        "from gigforge.opportunities.dedupe import simhash_text; "
        f"print(simhash_text({PIPELINE_JOB!r}))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {str(simhash_text(PIPELINE_JOB))}


def test_identical_postings_have_distance_zero() -> None:
    first = simhash(normalize(make_posting("Backend developer", PIPELINE_JOB)))
    second = simhash(normalize(make_posting("Backend developer", PIPELINE_JOB)))

    assert hamming(first, second) == 0
    assert is_near_duplicate(first, second)


def test_case_punctuation_spacing_and_markup_edits_leave_the_fingerprint_unchanged() -> None:
    original = simhash(normalize(make_posting("Backend developer", PIPELINE_JOB)))
    edited_text = PIPELINE_JOB.upper().replace(", ", " - ").replace(". ", "!\n\n")
    edited = simhash(
        normalize(
            make_posting(
                "BACKEND developer!", f"<p>{edited_text.replace('Django', '<b>Django</b>')}</p>"
            )
        )
    )

    assert hamming(original, edited) == 0


def test_a_sentence_appended_to_a_long_repost_stays_a_near_duplicate() -> None:
    # A 400-word listing: an added sentence is a small share of its shingles.
    long_job = f"{PIPELINE_JOB} {PIPELINE_DETAILS}"
    repost = f"{long_job} Please start your proposal with the word banana."

    assert is_near_duplicate(simhash_text(long_job), simhash_text(repost))


def test_single_sentence_edits_move_the_fingerprint_a_little_and_other_jobs_far() -> None:
    """Distance 3 is strict on short listings: a sentence inserted mid-text into this 215-word
    one lands within it only about 40% of the time, yet always far closer than another job."""
    sentences = PIPELINE_JOB.split(". ")
    extras = (
        "We are based in Berlin but happy to work with people in any time zone",
        "Only apply if you can start next week",
        "No agencies please, we want to work with an individual",
        "The budget is negotiable for the right candidate",
    )
    original = simhash_text(PIPELINE_JOB)
    chooser = random.Random(7)
    distances = []
    for extra in extras:
        for _ in range(10):
            edited = list(sentences)
            edited.insert(chooser.randrange(len(edited) + 1), extra)
            distances.append(hamming(original, simhash_text(". ".join(edited))))

    assert statistics.median(distances) <= 5
    assert max(distances) <= 10
    assert hamming(original, simhash_text(LOGO_JOB)) >= 20
    assert hamming(original, simhash_text(SCRAPER_JOB)) >= 20
    assert hamming(simhash_text(LOGO_JOB), simhash_text(SCRAPER_JOB)) >= 20
    assert not is_near_duplicate(original, simhash_text(LOGO_JOB))


def test_fingerprints_within_the_near_duplicate_distance_share_a_band() -> None:
    chooser = random.Random(3)
    for _ in range(200):
        fingerprint = chooser.getrandbits(64)
        flipped = fingerprint
        for bit in chooser.sample(range(64), NEAR_DUPLICATE_DISTANCE):
            flipped ^= 1 << bit
        assert any(a == b for a, b in zip(bands(fingerprint), bands(flipped), strict=True))


def test_bands_are_four_16_bit_slices_lowest_first() -> None:
    assert bands(0x0004_0003_0002_0001) == (1, 2, 3, 4)
    assert bands(fingerprint_signed(2**64 - 1)) == (0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF)


def test_signed_storage_form_round_trips_and_compares_alike() -> None:
    for fingerprint in (0, 1, 2**63 - 1, 2**63, 2**64 - 1, simhash_text(PIPELINE_JOB)):
        stored = fingerprint_signed(fingerprint)
        assert -(2**63) <= stored < 2**63
        assert fingerprint_unsigned(stored) == fingerprint
        assert hamming(stored, fingerprint) == 0
    assert fingerprint_signed(2**64 - 1) == -1
    assert hamming(fingerprint_signed(2**63), 0) == 1
