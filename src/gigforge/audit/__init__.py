"""The append-only, hash-chained record of security-relevant and automated actions."""
