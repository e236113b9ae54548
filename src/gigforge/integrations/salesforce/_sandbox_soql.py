"""The part of SOQL the sandbox answers: `SELECT fields FROM object [WHERE condition]
[ORDER BY field [ASC|DESC], ...] [LIMIT n]`, where a condition compares fields with literals
(strings, numbers, booleans, null, dateTimes) joined by AND, OR and parentheses. Errors carry
Salesforce's codes (`MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Row = Mapping[str, Any]
Condition = Callable[[Row], bool]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<op>>=|<=|!=|<>|=|>|<)
    | (?P<punct>[(),])
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_KEYWORDS = {"select", "from", "where", "and", "or", "order", "by", "limit", "asc", "desc"}


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    sobject: str
    where: Condition | None
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int | None


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at: {text[position:][:20]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _literal(kind: str, value: str) -> Any:
    if kind == "datetime":
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    if kind == "number":
        return float(value) if "." in value else int(value)
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    lowered = value.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered == "null":
        return None
    raise SoqlError("MALFORMED_QUERY", f"expected a value, found {value!r}")


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return op in {"=", "!=", "<>"} and _OPERATORS[op](left, right)
    if isinstance(right, datetime) and isinstance(left, str):
        left = datetime.fromisoformat(left.replace("Z", "+00:00"))
    return _OPERATORS[op](left, right)


class _Parser:
    def __init__(self, text: str, schema: Mapping[str, Collection[str]]) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.schema = schema
        self.columns: Collection[str] = ()
        self.sobject = ""

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "name" and token[1].lower() == word:
            self.at += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            raise SoqlError("MALFORMED_QUERY", f"expected {word.upper()}")

    def field(self) -> str:
        kind, value = self.take()
        if kind != "name" or value.lower() in _KEYWORDS:
            raise SoqlError("MALFORMED_QUERY", f"expected a field name, found {value!r}")
        if self.sobject and value not in self.columns:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{value}' on entity '{self.sobject}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field "
                "name.",
            )
        return value

    def parse(self) -> Query:
        self.expect("select")
        names = [self.take()]
        while self.peek() == ("punct", ","):
            self.take()
            names.append(self.take())
        self.expect("from")
        kind, sobject = self.take()
        if kind != "name" or sobject not in self.schema:
            raise SoqlError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        self.sobject, self.columns = sobject, self.schema[sobject]
        fields = tuple(self._known(name) for name in names)
        where = self.disjunction() if self.keyword("where") else None
        order: list[tuple[str, bool]] = []
        if self.keyword("order"):
            self.expect("by")
            while True:
                name = self.field()
                descending = self.keyword("desc")
                if not descending:
                    self.keyword("asc")
                order.append((name, descending))
                if self.peek() != ("punct", ","):
                    break
                self.take()
        limit = None
        if self.keyword("limit"):
            kind, value = self.take()
            if kind != "number":
                raise SoqlError("MALFORMED_QUERY", "LIMIT takes a number")
            limit = int(value)
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {self.take()[1]!r}")
        return Query(fields, sobject, where, tuple(order), limit)

    def _known(self, token: tuple[str, str]) -> str:
        self.tokens.insert(self.at, token)
        return self.field()

    def disjunction(self) -> Condition:
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda row: any(part(row) for part in parts))

    def conjunction(self) -> Condition:
        parts = [self.comparison()]
        while self.keyword("and"):
            parts.append(self.comparison())
        return parts[0] if len(parts) == 1 else (lambda row: all(part(row) for part in parts))

    def comparison(self) -> Condition:
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.disjunction()
            if self.take() != ("punct", ")"):
                raise SoqlError("MALFORMED_QUERY", "expected )")
            return inner
        name = self.field()
        kind, op = self.take()
        if kind != "op":
            raise SoqlError("MALFORMED_QUERY", f"expected an operator after {name}")
        value = _literal(*self.take())
        return lambda row: _compare(op, row.get(name), value)


def parse(text: str, schema: Mapping[str, Collection[str]]) -> Query:
    """`schema` maps each queryable sObject to its field names."""
    return _Parser(text, schema).parse()


def run(query: Query, rows: list[Row]) -> list[Row]:
    selected = [row for row in rows if query.where is None or query.where(row)]
    for name, descending in reversed(query.order):
        selected.sort(key=_nulls_first(name), reverse=descending)
    return selected[: query.limit] if query.limit is not None else selected


def _nulls_first(name: str) -> Callable[[Row], tuple[bool, Any]]:
    """Salesforce sorts nulls first in ascending order."""

    def key(row: Row) -> tuple[bool, Any]:
        value = row.get(name)
        return (value is not None, value if value is not None else 0)

    return key
