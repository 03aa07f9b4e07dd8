"""The extractor's version, stored with every extraction. Bump it whenever data files or logic
change any decision: stored extractions of another version are extracted again."""

EXTRACTOR_VERSION = "2026.11.30.21"
