"""Opportunities: scanning every source, normalizing, deduplicating, scoring and serving."""
