"""Near-duplicate listings: the same job re-posted, cross-posted or lightly edited.

A 64-bit SimHash of the listing's words: similar texts get fingerprints a few bits apart, so
"is this a re-post?" becomes a Hamming distance. The features are overlapping three-word
shingles, so both word choice and word order count; a text under three words uses its words.

Each word gets one stable 8-byte BLAKE2b digest (never `hash()`, which changes per process).
A shingle's 64-bit hash is the byte-wise XOR of its three words' digests, the second passed
through the byte permutation `b -> (167*b + 13) mod 256` and the third through
`b -> (89*b + 101) mod 256`, so "data pipeline python" and "python pipeline data" differ. Bit i
of the fingerprint is set when bit i is set in more than half of the shingle hashes (hashes
read little-endian). Hashing words rather than shingles lets a memo absorb most of the cost,
and the majority count runs on whole columns of bits at once; both keep a listing to tens of
microseconds in pure Python.

Four 16-bit bands make the search indexable: fingerprints within distance 3 differ in at most
three bands, so by pigeonhole they share at least one, and a database finds candidates with an
equality lookup per band before `hamming` confirms them.

Distance 3 of 64 bits is strict. Copies differing only in case, punctuation, spacing or markup
are at distance 0, but on listings of 200 to 400 words one changed word stays within 3 bits in
80-90% of trials and one added sentence in only 40-75%, depending on length and placement.
"""

from __future__ import annotations

import hashlib
import string
from typing import Final

from gigforge.opportunities.types import NormalizedPosting

NEAR_DUPLICATE_DISTANCE: Final = 3

_BITS = 64
_MASK = (1 << _BITS) - 1
_SIGN_BIT = 1 << (_BITS - 1)
_BAND_BITS = 16
_BAND_MASK = (1 << _BAND_BITS) - 1
# The opening thousand words identify a listing well enough, and the cap bounds the cost of a
# 20,000-character description.
_MAX_WORDS = 1000
_MEMO_LIMIT = 200_000

_PUNCTUATION_TO_SPACE = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))
# Typographic quotes, dashes, ellipsis and bullet in UTF-8: all start with these two bytes.
_TYPOGRAPHIC_PREFIX = b"\xe2\x80"
_TYPOGRAPHIC = tuple(
    mark.encode()
    for mark in ("\u2018", "\u2019", "\u201c", "\u201d", "\u2013", "\u2014", "\u2026", "\u2022")
)
_SECOND_WORD = bytes((167 * value + 13) & 0xFF for value in range(256))
_THIRD_WORD = bytes((89 * value + 101) & 0xFF for value in range(256))


class _WordDigests(dict[bytes, bytes]):
    """Vocabulary is small and repetitive, so most words are digested once per process."""

    def __missing__(self, word: bytes) -> bytes:
        if len(self) >= _MEMO_LIMIT:
            self.clear()
        digest = self[word] = hashlib.blake2b(word, digest_size=8).digest()
        return digest


_digests = _WordDigests()


def simhash(posting: NormalizedPosting) -> int:
    """The listing's fingerprint: an unsigned SimHash of its title and plain-text description."""
    return simhash_text(f"{posting.title} {posting.description_text}")


def simhash_text(text: str) -> int:
    """An unsigned 64-bit SimHash of the text, lower-cased and split on spaces and punctuation."""
    data = text.lower().encode()
    if _TYPOGRAPHIC_PREFIX in data:
        for mark in _TYPOGRAPHIC:
            data = data.replace(mark, b" ")
    words = data.translate(_PUNCTUATION_TO_SPACE).split()[:_MAX_WORDS]
    if not words:
        return 0
    digests = b"".join(map(_digests.__getitem__, words))
    if len(words) < 3:
        return _majority(digests, len(words))
    count = len(words) - 2
    size = 8 * count
    first = int.from_bytes(digests[:size], "little")
    second = int.from_bytes(digests[8 : size + 8].translate(_SECOND_WORD), "little")
    third = int.from_bytes(digests[16:].translate(_THIRD_WORD), "little")
    return _majority((first ^ second ^ third).to_bytes(size, "little"), count)


def _majority(rows: bytes, count: int) -> int:
    """Bit i set where more than half of the 8-byte rows have it, counted a column at a time."""
    lowest = int.from_bytes(b"\x01" * count, "little")
    masks = [lowest << bit for bit in range(8)]
    half = count // 2
    result = 0
    for byte in range(8):
        column = int.from_bytes(rows[byte::8], "little")
        for bit, mask in enumerate(masks):
            if (column & mask).bit_count() > half:
                result |= 1 << (8 * byte + bit)
    return result


def hamming(a: int, b: int) -> int:
    """Differing bits; signed and unsigned forms of a fingerprint compare alike."""
    return ((a ^ b) & _MASK).bit_count()


def is_near_duplicate(a: int, b: int, *, distance: int = NEAR_DUPLICATE_DISTANCE) -> bool:
    return hamming(a, b) <= distance


def bands(fingerprint: int) -> tuple[int, int, int, int]:
    """Four 16-bit slices, lowest bits first, for the four indexed band columns."""
    value = fingerprint & _MASK
    return (
        value & _BAND_MASK,
        (value >> 16) & _BAND_MASK,
        (value >> 32) & _BAND_MASK,
        (value >> 48) & _BAND_MASK,
    )


def fingerprint_signed(fingerprint: int) -> int:
    """The same 64 bits as a signed integer, which is what a BIGINT column can hold."""
    value = fingerprint & _MASK
    return value - (1 << _BITS) if value & _SIGN_BIT else value


def fingerprint_unsigned(stored: int) -> int:
    """The fingerprint back from its signed BIGINT form."""
    return stored & _MASK
