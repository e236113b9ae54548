"""Money in and out: invoices, provider payments applied to the ledger, connected accounts,
bank accounts and payouts."""
