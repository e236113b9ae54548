"""Users, sign-in, sessions, API keys and roles."""
