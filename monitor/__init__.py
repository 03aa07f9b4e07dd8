"""policy-monitor: notice when platforms change what they enforce."""

__version__ = "0.1.0"
