"""Gigforge: an open-source operations hub for AI-assisted freelancing."""

__version__ = "0.1.0"
