"""Pure translations between Salesforce's REST shapes and the sync engine's records.

Contact, Account and Opportunity are the CRM's contact, company and deal. Salesforce has one
set of Opportunity stages (the `StageName` picklist) rather than named pipelines, so it is
presented as the single pipeline `opportunity`; a stage id is the picklist's API value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from gigforge.integrations.framework.records import Pipeline, RecordKind, RemoteRecord, Stage
from gigforge.kit.money import currency_exponent, minor_to_major

SOBJECTS: Mapping[RecordKind, str] = {
    RecordKind.contact: "Contact",
    RecordKind.company: "Account",
    RecordKind.deal: "Opportunity",
}
KINDS: Mapping[str, RecordKind] = {name: kind for kind, name in SOBJECTS.items()}
PIPELINE_ID = "opportunity"
PIPELINE_LABEL = "Opportunity stages"
CURRENCY_FIELD = "CurrencyIsoCode"
MODSTAMP = "SystemModstamp"

# Normalized name -> Salesforce field, per kind. Money and dates are converted on the way.
FIELD_NAMES: Mapping[RecordKind, Mapping[str, str]] = {
    RecordKind.contact: {
        "first_name": "FirstName",
        "last_name": "LastName",
        "email": "Email",
        "phone": "Phone",
        "company": "AccountId",
        "source": "LeadSource",
    },
    RecordKind.company: {"name": "Name", "domain": "Website"},
    RecordKind.deal: {
        "name": "Name",
        "amount_minor": "Amount",
        "stage": "StageName",
        "close_date": "CloseDate",
        "contact": "ContactId",
        "company": "AccountId",
    },
}

# Error codes the connector reacts to (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
NOT_FOUND = "NOT_FOUND"
ENTITY_IS_DELETED = "ENTITY_IS_DELETED"
INVALID_SESSION_ID = "INVALID_SESSION_ID"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
INVALID_QUERY_LOCATOR = "INVALID_QUERY_LOCATOR"
PROCESSING_HALTED = "PROCESSING_HALTED"
MISSING_EXTERNAL_ID = "Provided external ID field does not exist or is not accessible"

_SALESFORCE_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


def sobject(kind: RecordKind) -> str:
    name = SOBJECTS.get(kind)
    if name is None:
        raise ValueError(f"Salesforce keeps no {kind.value} records")
    return name


def read_fields(kind: RecordKind, *, multi_currency: bool) -> tuple[str, ...]:
    names = ["Id", *FIELD_NAMES[kind].values(), MODSTAMP]
    if kind is RecordKind.deal and multi_currency:
        names.append(CURRENCY_FIELD)
    return tuple(names)


def parse_time(value: str) -> datetime:
    """`2024-05-07T22:07:19.000+0000`, the form every Salesforce datetime takes."""
    try:
        return datetime.strptime(value, _SALESFORCE_TIME).astimezone(UTC)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def soql_time(moment: datetime) -> str:
    """A SOQL dateTime literal (unquoted). Salesforce keeps whole seconds, so the fraction
    is dropped: a time between two seconds is matched by `>=` from the second before."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def soql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def changes_soql(
    kind: RecordKind,
    fields: Sequence[str],
    *,
    since: datetime | None,
    after: tuple[datetime, str] | None,
) -> str:
    """Records of `kind` changed at or after `since`, or strictly after the (SystemModstamp,
    Id) pair `after`, in that order, so the last record read is a safe place to resume."""
    if after is not None:
        stamp = soql_time(after[0])
        where = (
            f" WHERE ({MODSTAMP} > {stamp} OR ({MODSTAMP} = {stamp} AND Id > "
            f"{soql_string(after[1])}))"
        )
    elif since is not None:
        where = f" WHERE {MODSTAMP} >= {soql_time(since)}"
    else:
        where = ""
    # SOQL, not SQL: field names are ours and the one string literal goes through soql_string.
    columns = ", ".join(fields)
    return f"SELECT {columns} FROM {sobject(kind)}{where} ORDER BY {MODSTAMP}, Id"  # noqa: S608


STAGES_SOQL = (
    "SELECT ApiName, MasterLabel, IsClosed, IsWon, SortOrder FROM OpportunityStage "
    "WHERE IsActive = true ORDER BY SortOrder"
)
ORGANIZATION_SOQL = "SELECT DefaultCurrencyIsoCode FROM Organization"


@dataclass(frozen=True)
class ChangeCursor:
    """Where `changes` resumes: after the last record read (`stamp`, `id`), through the open
    query locator while Salesforce keeps it, and from `deleted_since` in the delete log."""

    stamp: datetime | None = None
    id: str | None = None
    locator: str | None = None
    deleted_since: datetime | None = None

    def encode(self) -> str:
        payload = {
            "m": self.stamp.isoformat() if self.stamp else None,
            "i": self.id,
            "l": self.locator,
            "d": self.deleted_since.isoformat() if self.deleted_since else None,
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> ChangeCursor:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            payload = json.loads(raw)
            stamp, deleted = payload.get("m"), payload.get("d")
            locator = payload.get("l")
            if locator is not None and not str(locator).startswith("query/"):
                raise ValueError("not a query locator")
            return cls(
                stamp=datetime.fromisoformat(stamp) if stamp else None,
                id=str(payload["i"]) if payload.get("i") else None,
                locator=str(locator) if locator else None,
                deleted_since=datetime.fromisoformat(deleted) if deleted else None,
            )
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as exc:
            raise ValueError(f"not a Salesforce changes cursor: {cursor!r}") from exc


def locator_path(next_records_url: str, api_path: str) -> str:
    """`/services/data/v62.0/query/01g...-2000` as a path under the API base (`query/...`)."""
    prefix = api_path.rstrip("/") + "/"
    if not next_records_url.startswith(prefix + "query/"):
        raise ValueError(f"unexpected nextRecordsUrl {next_records_url!r}")
    return next_records_url[len(prefix) :]


def domain_of(website: str | None) -> str | None:
    if not website:
        return None
    text = website.strip()
    host = urlsplit(text if "//" in text else f"//{text}").hostname
    if not host:
        return None
    return host.removeprefix("www.")


def amount_minor(value: Any, currency: str) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        major = Decimal(str(value))
    except InvalidOperation:
        return None
    scaled = major.scaleb(currency_exponent(currency))
    return int(scaled.to_integral_value(rounding=ROUND_HALF_UP))


def to_record(
    kind: RecordKind, raw: Mapping[str, Any], *, site: str, default_currency: str | None
) -> RemoteRecord:
    """One sObject as the sync engine sees it; fields Salesforce left empty are left out."""
    names = FIELD_NAMES[kind]
    fields: dict[str, Any] = {}
    for normalized, name in names.items():
        value = raw.get(name)
        if value is None or normalized == "amount_minor":
            continue
        fields[normalized] = domain_of(value) if normalized == "domain" else value
    if kind is RecordKind.deal:
        fields["pipeline"] = PIPELINE_ID
        currency = raw.get(CURRENCY_FIELD) or default_currency
        amount = amount_minor(raw.get("Amount"), currency) if currency else None
        if currency and amount is not None:
            fields["amount_minor"] = amount
            fields["currency"] = currency
    record_id = str(raw["Id"])
    return RemoteRecord(
        kind=kind,
        id=record_id,
        fields=fields,
        updated_at=parse_time(str(raw[MODSTAMP])),
        url=f"{site}/lightning/r/{sobject(kind)}/{record_id}/view",
    )


def deleted_record(kind: RecordKind, raw: Mapping[str, Any]) -> RemoteRecord:
    return RemoteRecord(
        kind=kind,
        id=str(raw["id"]),
        updated_at=parse_time(str(raw["deletedDate"])),
        deleted=True,
    )


class UnwritableField(ValueError):
    """A normalized field this kind has no Salesforce field for, or a value it cannot hold."""


def to_body(
    kind: RecordKind,
    fields: Mapping[str, Any],
    *,
    multi_currency: bool,
    default_currency: str | None,
) -> dict[str, Any]:
    """The sObject body for these normalized fields. A deal's amount needs its currency: in a
    multi-currency org it is written to `CurrencyIsoCode`, otherwise it must be the org's."""
    names = FIELD_NAMES[kind]
    body: dict[str, Any] = {}
    for normalized, value in fields.items():
        if kind is RecordKind.deal and normalized in {"currency", "amount_minor"}:
            continue
        if kind is RecordKind.deal and normalized == "pipeline":
            if value not in (None, PIPELINE_ID):
                raise UnwritableField(
                    f"Salesforce has one set of opportunity stages, pipeline {PIPELINE_ID!r}; "
                    f"not {value!r}"
                )
            continue
        name = names.get(normalized)
        if name is None:
            raise UnwritableField(f"a Salesforce {sobject(kind)} has no field for {normalized!r}")
        body[name] = value
    if kind is RecordKind.deal and ("amount_minor" in fields or "currency" in fields):
        body.update(_money(fields, multi_currency=multi_currency, default=default_currency))
    return body


def _money(
    fields: Mapping[str, Any], *, multi_currency: bool, default: str | None
) -> dict[str, Any]:
    currency = fields.get("currency")
    amount = fields.get("amount_minor")
    if amount is not None and not currency:
        raise UnwritableField("a deal's amount_minor needs its currency")
    body: dict[str, Any] = {}
    if currency:
        currency = str(currency).upper()
        if multi_currency:
            body[CURRENCY_FIELD] = currency
        elif currency != default:
            raise UnwritableField(
                f"this org keeps amounts in {default} only (multiple currencies are not "
                f"enabled), so a deal in {currency} cannot be written"
            )
    if "amount_minor" in fields:
        body["Amount"] = (
            None if amount is None else float(minor_to_major(int(amount), str(currency)))
        )
    return body


def to_pipeline(describe: Mapping[str, Any], stages: Sequence[Mapping[str, Any]]) -> list[Pipeline]:
    """The `StageName` picklist's active values, in its order, closed and won flags from the
    org's `OpportunityStage` records (matched by API name)."""
    flags = {str(row.get("ApiName") or row.get("MasterLabel")): row for row in stages}
    picklist: Sequence[Mapping[str, Any]] = ()
    for field in describe.get("fields") or ():
        if isinstance(field, Mapping) and field.get("name") == "StageName":
            picklist = field.get("picklistValues") or ()
    result: list[Stage] = []
    for value in picklist:
        if not value.get("active", True):
            continue
        stage_id = str(value["value"])
        row = flags.get(stage_id, {})
        result.append(
            Stage(
                id=stage_id,
                label=str(value.get("label") or stage_id),
                closed=bool(row.get("IsClosed", False)),
                won=bool(row.get("IsWon", False)),
            )
        )
    return [Pipeline(id=PIPELINE_ID, label=PIPELINE_LABEL, stages=result)]


def has_field(describe: Mapping[str, Any], name: str) -> bool:
    return any(
        isinstance(field, Mapping) and field.get("name") == name
        for field in describe.get("fields") or ()
    )


@dataclass(frozen=True)
class SalesforceError:
    code: str
    message: str
    fields: tuple[str, ...] = ()


def errors_of(body: Any) -> list[SalesforceError]:
    """Salesforce's error array `[{"message", "errorCode", "fields"}]`; also the OAuth form
    (`{"error", "error_description"}`) and a lone object, which some answers use."""
    if isinstance(body, Mapping):
        if "error" in body:
            return [SalesforceError(str(body["error"]), str(body.get("error_description", "")))]
        body = [body]
    if not isinstance(body, list):
        return []
    found = []
    for item in body:
        if isinstance(item, Mapping) and ("errorCode" in item or "message" in item):
            found.append(
                SalesforceError(
                    code=str(item.get("errorCode") or item.get("statusCode") or "UNKNOWN"),
                    message=str(item.get("message") or ""),
                    fields=tuple(str(f) for f in item.get("fields") or ()),
                )
            )
    return found


def errors_from_excerpt(excerpt: str | None) -> list[SalesforceError]:
    try:
        return errors_of(json.loads(excerpt)) if excerpt else []
    except ValueError:
        return []


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """`Sforce-Limit-Info: api-usage=18/5000` as (used, allocation)."""
    match = _LIMIT_INFO.search(header or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class UpsertItem:
    """One record of a composite write. `reference` names it within the request (letters,
    digits and underscores); `links` sets relation fields (`company`, `contact`) to the id of
    another item written before it in the same request, by that item's reference."""

    reference: str
    kind: RecordKind
    fields: Mapping[str, Any]
    idempotency_key: str
    external_id: str | None = None
    links: Mapping[str, str] | None = None


_REFERENCE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


def check_reference(reference: str) -> str:
    if not _REFERENCE.match(reference):
        raise ValueError(
            f"composite reference {reference!r}: start with a letter, then letters, digits, _"
        )
    return reference
