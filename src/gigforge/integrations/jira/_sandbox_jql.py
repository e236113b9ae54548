"""The slice of JQL the Jira sandbox understands: clauses joined by AND, each a field, an
operator and a value, and an optional ORDER BY. Fields: `key`, `project`, `parent`,
`issuetype`, `status`, `updated`, `created` and `issue.property[<key>].<path>`. Times are read
as JQL reads them, in the searching user's time zone. Anything else is refused the way Jira
refuses a query it cannot parse."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=|>|<)|(?P<word>[^\s=<>!"]+))'
)
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
TIME_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
PROPERTY = re.compile(r"^issue\.property\[(?P<key>[^\]]+)\]\.(?P<path>[\w.]+)$")
PLAIN_FIELDS = {"key", "project", "parent", "issuetype", "status"}
TIME_FIELDS = {"updated", "created"}


class JqlError(ValueError):
    pass


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    order_by: str | None = None
    descending: bool = False


def parse(jql: str, zone: tzinfo) -> Query:
    tokens = _tokens(jql)
    clauses: list[Clause] = []
    order_by: str | None = None
    descending = False
    position = 0
    while position < len(tokens):
        kind, text = tokens[position]
        if kind == "word" and text.upper() == "ORDER":
            rest = tokens[position + 1 :]
            if len(rest) < 2 or rest[0][1].upper() != "BY":
                raise JqlError("Error in the JQL Query: expecting 'BY' after 'ORDER'.")
            order_by = rest[1][1].lower()
            if len(rest) > 2:
                direction = rest[2][1].upper()
                if direction not in {"ASC", "DESC"} or len(rest) > 3:
                    raise JqlError("Error in the JQL Query: expecting ASC or DESC.")
                descending = direction == "DESC"
            break
        if clauses:
            if kind != "word" or text.upper() != "AND":
                raise JqlError(
                    f"Error in the JQL Query: the sandbox supports AND only, not {text!r}."
                )
            position += 1
            if position >= len(tokens):
                raise JqlError("Error in the JQL Query: expecting a clause after 'AND'.")
        clause, position = _clause(tokens, position, zone)
        clauses.append(clause)
    return Query(tuple(clauses), order_by, descending)


def matches(query: Query, issue: Mapping[str, Any]) -> bool:
    """`issue` is the flat view the sandbox builds: key, project, parent, issuetype, status,
    updated, created (aware datetimes) and properties."""
    for clause in query.clauses:
        actual = _value(clause.field, issue)
        if actual is None:
            if clause.op != "!=":
                return False
            continue
        if not OPERATORS[clause.op](actual, clause.value):
            return False
    return True


def _value(field: str, issue: Mapping[str, Any]) -> Any:
    found = PROPERTY.match(field)
    if found is None:
        value = issue.get(field)
        return value.lower() if isinstance(value, str) and field != "key" else value
    current: Any = issue.get("properties", {}).get(found["key"])
    for part in found["path"].split("."):
        current = current.get(part) if isinstance(current, Mapping) else None
    return str(current) if current is not None else None


def _clause(tokens: list[tuple[str, str]], position: int, zone: tzinfo) -> tuple[Clause, int]:
    if position + 3 > len(tokens):
        raise JqlError("Error in the JQL Query: the query ended in the middle of a clause.")
    (field_kind, field), (op_kind, op), (value_kind, raw) = tokens[position : position + 3]
    field = field.lower() if not field.lower().startswith("issue.property") else field
    if field_kind != "word" or op_kind != "op":
        raise JqlError(f"Error in the JQL Query: expecting an operator after {field!r}.")
    if field not in PLAIN_FIELDS | TIME_FIELDS and PROPERTY.match(field) is None:
        raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")
    text = _unquote(raw) if value_kind == "string" else raw
    value: Any
    if field in TIME_FIELDS:
        value = _time(text, zone)
    elif field == "key" or PROPERTY.match(field):
        value = text
    else:
        value = text.lower()
    if field not in TIME_FIELDS and op not in {"=", "!="}:
        raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
    return Clause(field, op, value), position + 3


def _time(text: str, zone: tzinfo) -> datetime:
    for form in TIME_FORMATS:
        try:
            return datetime.strptime(text, form).replace(tzinfo=zone)
        except ValueError:
            continue
    raise JqlError(f"Date value '{text}' for field 'updated' is invalid.")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _tokens(jql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    stripped = jql.rstrip()
    while position < len(stripped):
        found = TOKEN.match(stripped, position)
        if found is None or found.end() == position:
            raise JqlError(f"Error in the JQL Query: unexpected text at character {position}.")
        kind = found.lastgroup or "word"
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens
