"""The double-entry ledger: every amount of money Gigforge knows about, and where it is."""
