"""Listings on the command line: a table on a terminal, full rows when piped, JSON on request.

A rich table fits its cells to the terminal and cuts long values with an ellipsis; off a
terminal (`gigforge integrations list | grep ...`) that would hide the very text a script looks
for, so there each record becomes one tab-separated line with every value whole. `--json`
prints the records themselves: a JSON array of objects with stable keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

Cell = str | Text
Record = Mapping[str, Any]


def is_terminal(console: Console) -> bool:
    """Whether the console writes to a TTY (FORCE_COLOR and similar do not count)."""
    isatty = getattr(console.file, "isatty", None)
    return bool(isatty and isatty())


def _plain(cell: Cell) -> str:
    text = cell.plain if isinstance(cell, Text) else cell
    return " ".join(text.split()) if any(c in text for c in "\t\r\n") else text


def print_listing(
    console: Console,
    *,
    headers: Sequence[str],
    records: Sequence[Record],
    row: Callable[[Record], Sequence[Cell]],
    as_json: bool = False,
) -> None:
    """Print `records`: as JSON with `as_json`, else one row per record (cells from `row`).

    On a terminal a long value folds onto more lines of its cell instead of being cut. Cells
    that are `Text` keep their style there; plain strings are shown literally (no rich markup
    is interpreted in values)."""
    if as_json:
        console.file.write(json.dumps(list(records), indent=2, default=str) + "\n")
        console.file.flush()
        return
    if not is_terminal(console):
        lines = ["\t".join(headers)]
        lines += ["\t".join(_plain(cell) for cell in row(record)) for record in records]
        console.file.write("\n".join(lines) + "\n")
        console.file.flush()
        return
    table = Table()
    for header in headers:
        table.add_column(header, overflow="fold")
    for record in records:
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row(record)))
    console.print(table)
