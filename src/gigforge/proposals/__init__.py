"""Proposals: drafted with AI, edited and approved by the user, submitted exactly once."""
