"""Time-ordered identifiers.

Events and tasks take UUIDv7 ids (RFC 9562): the first 48 bits are the Unix time in
milliseconds, so ids sort in creation order and serve as cursors, and index inserts land at the
end of the B-tree instead of at random pages.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def uuid7() -> uuid.UUID:
    """A UUIDv7 that is strictly increasing within this process, even within a millisecond."""
    global _last
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        # 48 bits of time, then 12 bits of counter space (rand_a): bump within a millisecond.
        candidate = (now_ms << 12) | secrets.randbits(10)
        _last = candidate if candidate > _last else _last + 1
        stamp = _last
    rand_b = secrets.randbits(62)
    value = (stamp >> 12) << 80 | 0x7 << 76 | (stamp & 0xFFF) << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def uuid7_floor(milliseconds: int) -> uuid.UUID:
    """The smallest UUIDv7 of a millisecond: a cursor for "everything since this time"."""
    return uuid.UUID(int=(milliseconds << 80) | 0x7 << 76 | 0b10 << 62)


def uuid7_time_ms(value: uuid.UUID) -> int:
    return value.int >> 80
