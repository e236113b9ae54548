"""`gigforge storage`: a real smoke test of the configured backend, and single objects in and
out of it (check, put, get, url, versions). Keys are full keys: `users/<user id>/...` or
`system/...`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from gigforge.cli_support import fail
from gigforge.kit.console import print_listing
from gigforge.kit.errors import GigforgeError
from gigforge.settings import ConfigurationError, load_settings
from gigforge.storage.base import Storage, StoredObject
from gigforge.storage.factory import storage_from_settings
from gigforge.storage.selfcheck import round_trip

T = TypeVar("T")

storage_app = typer.Typer(
    help="File storage: check the configured backend, put, get and link objects.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)

KeyArgument = Annotated[str, typer.Argument(help="users/<user id>/<path> or system/<path>")]
VersionOption = Annotated[
    str | None, typer.Option("--version", help="A version id (newest when not given)")
]


def _run(work: Callable[[Storage], Awaitable[T]]) -> T:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise fail(str(exc), code=2) from None

    async def main() -> T:
        storage = storage_from_settings(settings)
        try:
            return await work(storage)
        finally:
            await storage.aclose()

    try:
        return asyncio.run(main())
    except GigforgeError as exc:
        raise fail(exc.detail) from None


def _record(stored: StoredObject) -> dict[str, Any]:
    record = dataclasses.asdict(stored)
    record["metadata"] = dict(stored.metadata)
    record["last_modified"] = stored.last_modified.isoformat() if stored.last_modified else None
    return record


@storage_app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Write a small object, read it back, download it through a signed link, delete it."""

    async def work(storage: Storage) -> tuple[dict[str, Any], bool]:
        report = await round_trip(storage)
        described = dataclasses.asdict(storage.description)
        return {
            **described,
            "versioning": report.versioning,
            "notes": list(report.notes),
            "ok": report.ok,
            "steps": [dataclasses.asdict(step) for step in report.steps],
        }, report.ok

    record, ok = _run(work)
    if as_json:
        console.file.write(json.dumps(record, indent=2) + "\n")
    else:
        console.print(
            f"{record['backend']} storage at {record['location']} "
            f"(encryption: {record['encryption']}; versioning: {record['versioning']})",
            highlight=False,
        )
        for step in record["steps"]:
            mark = "ok  " if step["ok"] else "FAIL"
            console.print(f"  {mark} {step['name']}: {step['detail']}", highlight=False)
        for note in record["notes"]:
            console.print(f"  note: {note}", highlight=False)
    if not ok:
        raise typer.Exit(1)


@storage_app.command("put")
def put(
    key: KeyArgument,
    source: Annotated[Path, typer.Argument(help="The file to upload; - reads standard input")],
    content_type: Annotated[
        str, typer.Option(help="The object's media type")
    ] = "application/octet-stream",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored object as JSON")
    ] = False,
) -> None:
    """Upload a file (a new version when the key exists) and print its SHA-256 and version."""
    if str(source) == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise fail(f"can not read {source}: {exc.strerror}") from None

    async def work(storage: Storage) -> StoredObject:
        return await storage.put(key, data, content_type=content_type)

    stored = _run(work)
    if as_json:
        console.file.write(json.dumps(_record(stored), indent=2) + "\n")
        return
    version = f" version {stored.version_id}" if stored.version_id else ""
    console.print(
        f"stored {stored.key}{version}: {stored.size} bytes, sha256 {stored.sha256}",
        highlight=False,
    )


@storage_app.command("get")
def get(
    key: KeyArgument,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write it; - is standard output")
    ] = Path("-"),
    version: VersionOption = None,
) -> None:
    """Download an object after its SHA-256 is checked; a corrupt copy is refused."""

    async def work(storage: Storage) -> bytes:
        return await storage.get(key, version=version)

    data = _run(work)
    if str(output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise fail(f"can not write {output}: {exc.strerror}") from None
    console.print(f"wrote {len(data)} bytes to {output}", highlight=False)


@storage_app.command("url")
def url(
    key: KeyArgument,
    version: VersionOption = None,
    expires: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=604_800,
            help="Seconds the link lasts (GIGFORGE_STORAGE_SIGNED_URL_SECONDS when not given)",
        ),
    ] = None,
    filename: Annotated[str | None, typer.Option(help="The name the download is saved as")] = None,
) -> None:
    """Print a signed download link that expires."""

    async def work(storage: Storage) -> str:
        await storage.head(key, version=version)
        return await storage.signed_url(
            key,
            expires_in=None if expires is None else timedelta(seconds=expires),
            version=version,
            filename=filename,
        )

    console.file.write(_run(work) + "\n")


@storage_app.command("versions")
def versions(
    key: KeyArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array")] = False,
) -> None:
    """List the kept versions of an object, newest first."""

    async def work(storage: Storage) -> list[StoredObject]:
        return await storage.versions(key)

    found = [_record(stored) for stored in _run(work)]
    if not found and not as_json:
        console.print(f"no versions of {key}", highlight=False)
        return
    print_listing(
        console,
        headers=["Version", "Size", "SHA-256", "Stored"],
        records=found,
        row=lambda record: [
            record["version_id"] or "",
            str(record["size"]),
            record["sha256"],
            record["last_modified"] or "",
        ],
        as_json=as_json,
    )
