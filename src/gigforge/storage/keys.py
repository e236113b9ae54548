"""Object keys: every key lives under one owner's namespace and is a plain relative path.

`users/<user id>/...` holds a user's files; `system/...` holds what the process writes for
itself (the storage self-check). A key never climbs (`..`), never starts at a root, and never
holds a backslash or a control character, so the same key is safe as a local path, an S3 key
and a GCS object name.
"""

from __future__ import annotations

import re
import uuid

from gigforge.storage.errors import InvalidKey

MAX_KEY_BYTES = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NAMESPACES = ("users", "system")


def _check_segments(path: str, what: str) -> list[str]:
    if not path:
        raise InvalidKey(f"The {what} is empty.")
    if len(path.encode()) > MAX_KEY_BYTES:
        raise InvalidKey(f"The {what} is longer than {MAX_KEY_BYTES} bytes.")
    if _CONTROL.search(path) or "\\" in path:
        raise InvalidKey(f"The {what} holds a control character or a backslash.")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise InvalidKey(f"The {what} must be relative, not an absolute path.")
    segments = path.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidKey(f"The {what} has an empty, '.' or '..' segment.")
        if segment.startswith("."):
            raise InvalidKey(f"The {what} has a segment starting with '.'.")
        if segment != segment.strip():
            raise InvalidKey(f"The {what} has a segment with surrounding spaces.")
    return segments


def validate_key(key: str) -> str:
    """The key itself when it is a valid, namespaced key; InvalidKey otherwise."""
    segments = _check_segments(key, "key")
    if segments[0] not in NAMESPACES or len(segments) < 2:
        raise InvalidKey("A key starts with users/<user id>/ or system/.")
    if segments[0] == "users":
        try:
            uuid.UUID(segments[1])
        except ValueError:
            raise InvalidKey("A user's key starts with users/<user id>/.") from None
        if len(segments) < 3:
            raise InvalidKey("A user's key names a file under users/<user id>/.")
    return key


def validate_prefix(prefix: str) -> str:
    """A configured folder inside the bucket: empty, or relative segments without a slash at
    either end."""
    cleaned = prefix.strip("/")
    if cleaned:
        _check_segments(cleaned, "storage prefix")
    return cleaned


def user_key(user_id: uuid.UUID, path: str) -> str:
    """The key of `path` in one user's namespace: `users/<user id>/<path>`."""
    return validate_key(f"users/{user_id}/{path}")


def system_key(path: str) -> str:
    return validate_key(f"system/{path}")


def owner_of(key: str) -> uuid.UUID | None:
    """The user a key belongs to, or None for a system key."""
    segments = validate_key(key).split("/")
    return uuid.UUID(segments[1]) if segments[0] == "users" else None


def filename_of(key: str) -> str:
    return key.rsplit("/", 1)[-1]
