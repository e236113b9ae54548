"""The storage layer's failures, in the project's one error tree (problem+json on the API)."""

from __future__ import annotations

from gigforge.kit.errors import GigforgeError


class StorageError(GigforgeError):
    """The backend failed; the detail names the backend and the key, never a credential."""

    status_code = 502
    code = "storage-error"
    title = "File storage failed"


class InvalidKey(StorageError):
    status_code = 422
    code = "storage-invalid-key"
    title = "Not a valid storage key"


class ObjectNotFound(StorageError):
    status_code = 404
    code = "storage-not-found"
    title = "No such file"


class ChecksumMismatch(StorageError):
    """The bytes read or written do not hash to what was recorded: the copy is corrupt."""

    status_code = 502
    code = "storage-checksum-mismatch"
    title = "Stored file failed its checksum"


class StorageUnavailable(StorageError):
    status_code = 503
    code = "storage-unavailable"
    title = "File storage is unavailable"


class StorageMisconfigured(StorageError):
    """The backend refused the configured credentials, bucket or key: an operator's fix."""

    status_code = 503
    code = "storage-misconfigured"
    title = "File storage is not set up correctly"


class InvalidLink(StorageError):
    status_code = 403
    code = "storage-link-invalid"
    title = "This download link is not valid"


class LinkExpired(StorageError):
    status_code = 410
    code = "storage-link-expired"
    title = "This download link has expired"
