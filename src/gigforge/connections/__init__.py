"""A user's connected accounts: vault, OAuth flows, token refresh, health."""
