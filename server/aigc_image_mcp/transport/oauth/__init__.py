"""The team server as an OAuth 2.1 protected resource: its settings and their rules (rules.py), the issuer's keys
(keys.py), access-token validation (tokens.py), and what the front door answers (door.py)."""
