"""Signing people in: the OAuth settings' rules, the issuer's keys, access tokens."""
