"""OAuth 2.0 authorization server for third-party apps (authorization code + PKCE S256 only).

Not to be confused with `connections/`, whose OAuth *client* code signs users into vendors.
"""
