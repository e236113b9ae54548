"""The event stream as users read it: the catalog of event types and a user's events."""
