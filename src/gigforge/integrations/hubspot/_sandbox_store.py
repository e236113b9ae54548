"""The sandbox's CRM data: objects with string properties, associations, deal pipelines, and
the search HubSpot runs over them (filter groups, one sort, `after` paging).

Nothing here speaks HTTP; `sandbox.py` turns its answers and `StoreError`s into HubSpot's
responses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gigforge.integrations.hubspot.spec import REF_PROPERTY, SOURCE_PROPERTY

Record = dict[str, Any]
TYPES = ("contacts", "companies", "deals")
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
PLURAL = {singular: plural for plural, singular in SINGULAR.items()}
MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
DATE_PROPERTIES = frozenset({"createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate"})
# The properties each object type has in the sandbox's account (HubSpot's defaults we use,
# and Gigforge's two custom properties).
KNOWN: dict[str, frozenset[str]] = {
    "contacts": frozenset(
        {"firstname", "lastname", "email", "phone", "associatedcompanyid", "lifecyclestage"}
        | {REF_PROPERTY, SOURCE_PROPERTY}
    ),
    "companies": frozenset({"name", "domain", "city", "industry", REF_PROPERTY}),
    "deals": frozenset(
        {"dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "closedate"}
        | {REF_PROPERTY}
    ),
}
READ_ONLY = frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"})
DEFAULT_READ = {
    "contacts": ("createdate", "email", "firstname", "lastmodifieddate", "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "name"),
    "deals": (
        *("amount", "closedate", "createdate", "dealname", "dealstage"),
        *("hs_lastmodifieddate", "pipeline"),
    ),
}
# HubSpot-defined association type ids of the default (unlabeled) associations.
ASSOCIATION_TYPE_IDS = {
    ("contact", "company"): 279,
    ("company", "contact"): 280,
    ("deal", "contact"): 3,
    ("contact", "deal"): 4,
    ("deal", "company"): 341,
    ("company", "deal"): 342,
}
MAX_SEARCH_LIMIT = 200
SEARCH_CAP = 10_000
OPERATORS = frozenset({"EQ", "NEQ", "GT", "GTE", "LT", "LTE", "HAS_PROPERTY", "NOT_HAS_PROPERTY"})


class StoreError(Exception):
    def __init__(self, status: int, category: str, message: str, **context: Any) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = context


def iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def seed_pipelines() -> list[Record]:
    def stage(stage_id: str, label: str, order: int, probability: str, closed: bool) -> Record:
        return {
            "id": stage_id,
            "label": label,
            "displayOrder": order,
            "metadata": {"isClosed": str(closed).lower(), "probability": probability},
            "archived": False,
        }

    return [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "archived": False,
            "stages": [
                stage("appointmentscheduled", "Appointment Scheduled", 0, "0.2", False),
                stage("qualifiedtobuy", "Qualified To Buy", 1, "0.4", False),
                stage("contractsent", "Contract Sent", 3, "0.9", False),
                stage("closedwon", "Closed Won", 4, "1.0", True),
                stage("closedlost", "Closed Lost", 5, "0.0", True),
            ],
        },
        {
            "id": "75e28846-ad0d-4be2-a027-5e1da6590b98",
            "label": "Freelance work",
            "displayOrder": 1,
            "archived": False,
            "stages": [
                stage("1001", "Proposal sent", 0, "0.3", False),
                stage("1002", "Delivered and paid", 1, "1.0", True),
                stage("1003", "Declined", 2, "0.0", True),
            ],
        },
    ]


@dataclass
class Store:
    clock: Callable[[], float]
    objects: dict[str, dict[str, Record]] = field(default_factory=lambda: {t: {} for t in TYPES})
    associations: set[tuple[str, str, str, str]] = field(default_factory=set)
    pipelines: list[Record] = field(default_factory=seed_pipelines)
    next_id: int = 51_000
    _last_ms: int = 0

    def now_ms(self) -> int:
        """The store's time: the clock, but never the same millisecond twice."""
        self._last_ms = max(int(self.clock() * 1000), self._last_ms + 1)
        return self._last_ms

    def create(self, object_type: str, properties: Mapping[str, Any]) -> Record:
        values = self._checked(object_type, properties)
        self.next_id += 1
        record_id = str(self.next_id)
        now = self.now_ms()
        if object_type == "deals":
            values.setdefault("pipeline", "default")
        self._check_deal(object_type, values)
        values.update(
            {
                "hs_object_id": record_id,
                "createdate": iso(now),
                MODIFIED[object_type]: iso(now),
            }
        )
        record = {
            "id": record_id,
            "properties": {k: v for k, v in values.items() if v != ""},
            "createdAt": iso(now),
            "updatedAt": iso(now),
            "archived": False,
        }
        self.objects[object_type][record_id] = record
        return record

    def update(self, object_type: str, record_id: str, properties: Mapping[str, Any]) -> Record:
        record = self.live(object_type, record_id)
        values = self._checked(object_type, properties)
        self._check_deal(object_type, {**record["properties"], **values})
        now = self.now_ms()
        for name, value in values.items():
            if value == "":
                record["properties"].pop(name, None)
            else:
                record["properties"][name] = value
        record["properties"][MODIFIED[object_type]] = iso(now)
        record["updatedAt"] = iso(now)
        return record

    def archive(self, object_type: str, record_id: str) -> Record | None:
        record = self.objects[self._type(object_type)].get(record_id)
        if record is None or record["archived"]:
            return None
        now = self.now_ms()
        record["archived"] = True
        record["archivedAt"] = iso(now)
        self.associations = {a for a in self.associations if record_id not in (a[1], a[3])}
        return record

    def live(self, object_type: str, record_id: str) -> Record:
        record = self.objects[self._type(object_type)].get(record_id)
        if record is None or record["archived"]:
            raise StoreError(
                404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
            )
        return record

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> Record:
        pair = (from_type, to_type)
        if pair not in ASSOCIATION_TYPE_IDS:
            raise StoreError(
                400,
                "VALIDATION_ERROR",
                f"No default association type exists between {from_type} and {to_type}",
            )
        self.live(PLURAL[from_type], from_id)
        target = self.live(PLURAL[to_type], to_id)
        self.associations.add((from_type, from_id, to_type, to_id))
        self.associations.add((to_type, to_id, from_type, from_id))
        if pair == ("contact", "company"):
            contact = self.live("contacts", from_id)
            contact["properties"].setdefault("associatedcompanyid", target["id"])
        now = self.now_ms()
        spec = {"associationCategory": "HUBSPOT_DEFINED"}
        return {
            "status": "COMPLETE",
            "results": [
                {
                    "from": {"id": from_id},
                    "to": {"id": to_id},
                    "associationSpec": {**spec, "associationTypeId": ASSOCIATION_TYPE_IDS[pair]},
                },
                {
                    "from": {"id": to_id},
                    "to": {"id": from_id},
                    "associationSpec": {
                        **spec,
                        "associationTypeId": ASSOCIATION_TYPE_IDS[(to_type, from_type)],
                    },
                },
            ],
            "startedAt": iso(now),
            "completedAt": iso(now),
        }

    def view(
        self, object_type: str, record: Record, properties: list[str] | None, with_: list[str]
    ) -> Record:
        """A record as HubSpot returns it: the asked-for properties (null when unset) plus
        its id and times, or the type's defaults when none were asked for."""
        names = properties or list(DEFAULT_READ[object_type])
        names = [*names, "hs_object_id", "createdate", MODIFIED[object_type]]
        values = record["properties"]
        shown: Record = {
            "id": record["id"],
            "properties": {name: values.get(name) for name in dict.fromkeys(names)},
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": record["archived"],
        }
        associations: Record = {}
        me = SINGULAR[object_type]
        for plural in with_:
            other = SINGULAR.get(plural)
            linked = sorted(
                (a[3] for a in self.associations if a[:2] == (me, record["id"]) and a[2] == other),
                key=int,
            )
            if linked:
                associations[plural] = {
                    "results": [{"id": i, "type": f"{me}_to_{other}"} for i in linked]
                }
        if associations:
            shown["associations"] = associations
        return shown

    def search(self, object_type: str, body: Mapping[str, Any]) -> Record:
        records = self.objects[self._type(object_type)]
        try:
            limit = int(body.get("limit", 10))
            after = int(body.get("after") or 0)
        except (TypeError, ValueError):
            raise StoreError(400, "VALIDATION_ERROR", "limit and after must be numbers") from None
        if not 0 < limit <= MAX_SEARCH_LIMIT:
            raise StoreError(
                400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_SEARCH_LIMIT}"
            )
        if after + limit > SEARCH_CAP:
            raise StoreError(
                400,
                "VALIDATION_ERROR",
                f"Search results are limited to {SEARCH_CAP} records; narrow the filters",
            )
        groups = body.get("filterGroups") or []
        found = [
            r for r in records.values() if not r["archived"] and _matches(r["properties"], groups)
        ]
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        sort = sorts[0] if isinstance(sorts[0], Mapping) else {"propertyName": str(sorts[0])}
        name = str(sort.get("propertyName", "hs_object_id"))
        found.sort(key=lambda r: (_sortable(name, r["properties"].get(name)), int(r["id"])))
        if str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING":
            found.reverse()
        page = found[after : after + limit]
        wanted = body.get("properties") or None
        answer: Record = {
            "total": len(found),
            "results": [self.view(object_type, r, wanted, []) for r in page],
        }
        if after + limit < len(found):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return answer

    def _checked(self, object_type: str, properties: Mapping[str, Any]) -> dict[str, str]:
        unknown = [name for name in properties if name not in KNOWN[self._type(object_type)]]
        if unknown:
            errors = [
                {
                    "isValid": False,
                    "message": f'Property "{name}" does not exist',
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": name,
                }
                for name in unknown
            ]
            raise StoreError(
                400,
                "VALIDATION_ERROR",
                f"Property values were not valid: {json.dumps(errors)}",
            )
        return {name: "" if value is None else str(value) for name, value in properties.items()}

    def _check_deal(self, object_type: str, values: Mapping[str, str]) -> None:
        if object_type != "deals":
            return
        amount = values.get("amount")
        if amount:
            try:
                Decimal(amount)
            except InvalidOperation:
                raise StoreError(
                    400, "VALIDATION_ERROR", f"{amount} was not a valid number."
                ) from None
        stage = values.get("dealstage")
        pipeline = next((p for p in self.pipelines if p["id"] == values.get("pipeline")), None)
        if pipeline is None:
            raise StoreError(
                400, "VALIDATION_ERROR", f"{values.get('pipeline')} is not a valid pipeline"
            )
        if stage and stage not in {s["id"] for s in pipeline["stages"]}:
            raise StoreError(
                400,
                "VALIDATION_ERROR",
                f"{stage} is not a valid deal stage of pipeline {pipeline['id']}",
            )

    @staticmethod
    def _type(object_type: str) -> str:
        if object_type not in TYPES:
            raise StoreError(
                400, "VALIDATION_ERROR", f"Unable to infer object type from: {object_type}"
            )
        return object_type


def _matches(properties: Mapping[str, Any], groups: Any) -> bool:
    if not groups:
        return True
    if not isinstance(groups, list):
        raise StoreError(400, "VALIDATION_ERROR", "filterGroups must be a list")
    return any(
        all(_passes(properties, f) for f in (group.get("filters") or [])) for group in groups
    )


def _passes(properties: Mapping[str, Any], rule: Mapping[str, Any]) -> bool:
    name = str(rule.get("propertyName", ""))
    operator = str(rule.get("operator", ""))
    if operator not in OPERATORS:
        raise StoreError(400, "VALIDATION_ERROR", f"Unsupported operator {operator!r}")
    value = properties.get(name)
    if operator == "HAS_PROPERTY":
        return value not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if value in (None, ""):
        return operator == "NEQ"
    mine, theirs = _sortable(name, value), _sortable(name, rule.get("value"))
    try:
        return bool(
            {
                "EQ": mine == theirs,
                "NEQ": mine != theirs,
                "GT": mine > theirs,
                "GTE": mine >= theirs,
                "LT": mine < theirs,
                "LTE": mine <= theirs,
            }[operator]
        )
    except TypeError:
        return False


def _sortable(name: str, value: Any) -> Any:
    """Dates compare as milliseconds (HubSpot takes either form in a filter), numbers as
    numbers, the rest as case-insensitive text."""
    if value is None:
        return ""
    text = str(value)
    if name in DATE_PROPERTIES:
        if text.isdigit():
            return int(text)
        try:
            return int(datetime.fromisoformat(text).timestamp() * 1000)
        except ValueError:
            return text
    if name in {"hs_object_id", "amount", "associatedcompanyid"}:
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    return text.casefold()
