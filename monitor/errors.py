"""The small error hierarchy: every failure we expect has a class and a one-line message."""


class MonitorError(Exception):
    """Base class of every error policy-monitor raises on purpose."""


class ConfigError(MonitorError):
    """feeds.yaml (or the environment) is unusable. The message names file, line, feed, field."""


class FetchError(MonitorError):
    """A feed could not be fetched: network error, timeout, bad status, too large."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ParseError(MonitorError):
    """Fetched bytes are not a usable feed (no entries, not XML, ...)."""


class AlertError(MonitorError):
    """Slack did not accept an alert."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
