"""The European Central Bank's euro foreign exchange reference rates as Gigforge sees them:
`GET https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml`, public and keyless.

The feed is one small XML document (a `gesmes:Envelope`) holding the latest day's rates: how
many units of each of about thirty currencies one euro buys. The ECB updates it around 16:00
CET on every TARGET working day, so it changes at most once a day; the budget of ten calls a
minute is ours, a guard against a loop, not a figure the ECB publishes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gigforge.integrations.framework.spec import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    TermsOfUse,
)

SITE_URL = "https://www.ecb.europa.eu"
DAILY_PATH = "/stats/eurofxref/eurofxref-daily.xml"
DOCS_URL = (
    "https://www.ecb.europa.eu/stats/policy_and_exchange_rates/"
    "euro_reference_exchange_rates/html/index.en.html"
)
TERMS_URL = "https://www.ecb.europa.eu/services/using-our-site/disclaimer/html/index.en.html"
SOURCE_NAME = "European Central Bank"
BASE_CURRENCY = "EUR"
# The feed's two XML namespaces: the GESMES envelope, and the ECB's eurofxref vocabulary.
GESMES_NS = "http://www.gesmes.org/xml/2002-08-01"
EUROFXREF_NS = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"


class ECBConfig(BaseModel):
    """The feed is the same for everyone: there is nothing to enter."""

    model_config = ConfigDict(title="ECB reference rates", frozen=True)


SPEC = IntegrationSpec(
    slug="ecb",
    title="European Central Bank",
    description=(
        "Reads the euro foreign exchange reference rates the European Central Bank publishes "
        "every working day."
    ),
    capabilities=frozenset({Capability.exchange_rates}),
    auth_modes=(AuthMode.none,),
    base_url=SITE_URL,
    docs_url=DOCS_URL,
    rate_limits=("10/minute",),
    pagination=Pagination.none,
    test_call=f"GET {DAILY_PATH}: proves the feed answers and reads as the documented table",
    terms=TermsOfUse(
        url=TERMS_URL,
        summary=(
            "The ECB allows free reuse of the information on its website, the reference rates "
            "included, provided the source is acknowledged: every use of these rates names the "
            "European Central Bank as their source. The rates are published for information "
            "purposes only and the ECB discourages using them for transactions; it accepts no "
            "liability for decisions made on them. Gigforge uses them to show and record a "
            "home-currency value beside an amount, never to price a transaction."
        ),
        allows=(
            "Reading the latest daily reference rates, with no account or key",
            "Showing and storing the rates with the European Central Bank named as the source",
        ),
        forbids=(
            "Reusing the rates without acknowledging the European Central Bank as the source",
            "Using the rates to price or settle transactions, which the ECB strongly discourages",
        ),
    ),
    config_model=ECBConfig,
)
