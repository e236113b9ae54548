"""File storage: one async interface over a local folder, Amazon S3, Google Cloud Storage and
Backblaze B2, chosen by settings (docs/storage.md).

Domains use only what this module exports: the running process holds one `Storage` (from
`storage_from_settings`, kept in app state and in task resources), and keys come from
`user_key(user_id, path)` so every user's files live in their own namespace.
"""

from gigforge.storage.base import (
    AccessReport,
    Body,
    Storage,
    StorageDescription,
    StoredObject,
)
from gigforge.storage.errors import (
    ChecksumMismatch,
    InvalidKey,
    InvalidLink,
    LinkExpired,
    ObjectNotFound,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
)
from gigforge.storage.factory import storage_from_settings
from gigforge.storage.keys import owner_of, system_key, user_key, validate_key

__all__ = [
    "AccessReport",
    "Body",
    "ChecksumMismatch",
    "InvalidKey",
    "InvalidLink",
    "LinkExpired",
    "ObjectNotFound",
    "Storage",
    "StorageDescription",
    "StorageError",
    "StorageMisconfigured",
    "StorageUnavailable",
    "StoredObject",
    "owner_of",
    "storage_from_settings",
    "system_key",
    "user_key",
    "validate_key",
]
