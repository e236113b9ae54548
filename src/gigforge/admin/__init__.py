"""Operator tools for admins: dead background work, listed, retried or discarded."""
