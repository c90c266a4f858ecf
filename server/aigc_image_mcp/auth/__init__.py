"""Signing people in with the team's identity provider (OAuth 2.1): the settings' rules, the issuer's keys, and the
access tokens checked against them. The HTTP side (metadata, challenges) is transport/oauth.py."""
