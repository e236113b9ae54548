"""Two-way sync between Gigforge's records and the user's tools (CRMs, project tools)."""
