"""Just enough of a GraphQL reader for the sandbox to check what the connector asks for.

It reads one operation (named or anonymous, with variable definitions), root fields with their
arguments (literals or `$variables`) and nested selection sets. Fragments and directives are
outside what the connector sends, so they are reported as syntax the sandbox does not accept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<punct>\.\.\.|[!$():=@\[\]{}|])
    """,
    re.VERBOSE,
)


class GraphQLSyntaxError(ValueError):
    pass


@dataclass
class Selection:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    selections: list[Selection] = field(default_factory=list)
    alias: str | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Operation:
    kind: str
    name: str | None
    variable_types: dict[str, str]
    selections: list[Selection]


@dataclass(frozen=True)
class Variable:
    name: str


def parse(document: str) -> Operation:
    return _Parser(_tokens(document)).operation()


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """An argument value with its `$variables` replaced by what the request sent."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    return value


def _tokens(document: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(document):
        match = _TOKEN.match(document, position)
        if match is None:
            raise GraphQLSyntaxError(f"Unexpected character {document[position]!r}")
        position = match.end()
        kind = match.lastgroup or "skip"
        if kind != "skip":
            tokens.append((kind, match.group()))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        lexeme_kind, lexeme = self.peek()
        if (value is not None and lexeme != value) or (kind is not None and lexeme_kind != kind):
            raise GraphQLSyntaxError(f"Expected {value or kind}, found {lexeme or 'end'!r}")
        self.index += 1
        return lexeme

    def operation(self) -> Operation:
        kind, name, variable_types = "query", None, {}
        if self.peek()[1] in ("query", "mutation", "subscription"):
            kind = self.take()
            if self.peek()[0] == "name":
                name = self.take()
            if self.peek()[1] == "(":
                variable_types = self.variable_definitions()
        selections = self.selection_set()
        if self.peek()[0] != "eof":
            raise GraphQLSyntaxError("The sandbox accepts one operation per document")
        return Operation(kind, name, variable_types, selections)

    def variable_definitions(self) -> dict[str, str]:
        self.take("(")
        definitions: dict[str, str] = {}
        while self.peek()[1] != ")":
            self.take("$")
            name = self.take(kind="name")
            self.take(":")
            definitions[name] = self.type_reference()
            if self.peek()[1] == "=":
                self.take("=")
                self.value()
        self.take(")")
        return definitions

    def type_reference(self) -> str:
        if self.peek()[1] == "[":
            self.take("[")
            inner = self.type_reference()
            self.take("]")
            text = f"[{inner}]"
        else:
            text = self.take(kind="name")
        if self.peek()[1] == "!":
            self.take("!")
            text += "!"
        return text

    def selection_set(self) -> list[Selection]:
        self.take("{")
        selections: list[Selection] = []
        while self.peek()[1] != "}":
            if self.peek()[1] in ("...", "@"):
                raise GraphQLSyntaxError("Fragments and directives are not accepted here")
            selections.append(self.selection())
        self.take("}")
        return selections

    def selection(self) -> Selection:
        name, alias = self.take(kind="name"), None
        if self.peek()[1] == ":":
            self.take(":")
            alias, name = name, self.take(kind="name")
        arguments: dict[str, Any] = {}
        if self.peek()[1] == "(":
            self.take("(")
            while self.peek()[1] != ")":
                argument = self.take(kind="name")
                self.take(":")
                arguments[argument] = self.value()
            self.take(")")
        selections = self.selection_set() if self.peek()[1] == "{" else []
        return Selection(name, arguments, selections, alias)

    def value(self) -> Any:
        kind, lexeme = self.peek()
        if lexeme == "$":
            self.take("$")
            return Variable(self.take(kind="name"))
        if lexeme == "[":
            self.take("[")
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take("]")
            return items
        if lexeme == "{":
            self.take("{")
            fields: dict[str, Any] = {}
            while self.peek()[1] != "}":
                key = self.take(kind="name")
                self.take(":")
                fields[key] = self.value()
            self.take("}")
            return fields
        self.index += 1
        if kind == "string":
            return json.loads(lexeme)
        if kind == "number":
            return float(lexeme) if any(c in lexeme for c in ".eE") else int(lexeme)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(lexeme, lexeme)
        raise GraphQLSyntaxError(f"Unexpected {lexeme or 'end'!r} where a value belongs")
