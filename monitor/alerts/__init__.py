"""Alerts: the outbox dispatcher (``outbox``) and the Slack side (``slack``)."""
