"""Signed outbound webhooks (Standard Webhooks v1): endpoints, fan-out from the event stream,
batched deliveries with retries, and the attempt log."""
