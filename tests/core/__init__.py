"""A paid task from submit to images: waiting, delivery, quotas, callers, privacy."""
