"""Who pays for a call and whose history it goes in (callers.caller_of), for every way a server can be set up."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from aigc_image_mcp.backends.base import Caller
from aigc_image_mcp.callers import caller_of, fingerprint
from aigc_image_mcp.errors import ConfigError

from ..conftest import CANARY_KEY, make_settings

TOKENS = ("token-of-alice-0123456789abcdef", "token-of-bob-0123456789abcdefgh")
USER_KEY = "sk-user-key-5d1e9a7c3b"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def paid_with(caller: Caller) -> str | None:
    return caller.key.get_secret_value() if caller.key else None


def test_over_stdio_the_servers_key_pays_and_the_history_is_its_fingerprint() -> None:
    caller = caller_of(make_settings(), None, remote=False)

    assert paid_with(caller) == CANARY_KEY
    assert caller.namespace == fingerprint(SecretStr(CANARY_KEY))
    assert re.fullmatch(r"[0-9a-f]{32}", caller.namespace)
    assert (caller.remote, caller.shared) == (False, False)


def test_over_stdio_an_authorization_header_changes_nothing() -> None:
    settings = make_settings(http_tokens=TOKENS[0])

    assert caller_of(settings, bearer(TOKENS[0]), remote=False) == caller_of(settings, None, remote=False)


def test_over_http_without_tokens_a_bearer_token_neither_pays_nor_picks_the_history() -> None:
    caller = caller_of(make_settings(), bearer(USER_KEY), remote=True)

    assert paid_with(caller) == CANARY_KEY
    assert caller.namespace == fingerprint(SecretStr(CANARY_KEY))
    assert (caller.remote, caller.shared) == (True, False)


def test_each_token_holder_has_a_history_of_its_own_while_the_servers_key_pays() -> None:
    settings = make_settings(http_tokens=",".join(TOKENS))

    alice, bob = (caller_of(settings, bearer(token), remote=True) for token in TOKENS)

    assert alice.key == bob.key == settings.api_key
    assert (alice.shared, bob.shared) == (True, True)
    assert len({alice.namespace, bob.namespace, fingerprint(SecretStr(CANARY_KEY))}) == 3
    assert caller_of(settings, bearer(TOKENS[0]), remote=True).namespace == alice.namespace


def test_a_token_the_server_does_not_know_cannot_pick_a_history() -> None:
    settings = make_settings(http_tokens=TOKENS[0])

    with pytest.raises(ConfigError, match="not one this server accepts"):
        caller_of(settings, bearer("token-of-mallory-0123456789abcd"), remote=True)


def test_in_pass_through_each_callers_key_pays_and_names_its_own_history() -> None:
    settings = make_settings(api_key=None)

    caller = caller_of(settings, bearer(USER_KEY), remote=True)
    other = caller_of(settings, bearer(USER_KEY + "x"), remote=True)

    assert paid_with(caller) == USER_KEY
    assert caller.namespace == fingerprint(SecretStr(USER_KEY))
    assert caller.namespace != other.namespace
    assert (caller.remote, caller.shared) == (True, False)


@pytest.mark.parametrize("remote", [False, True])
def test_without_any_key_the_error_says_which_variable_to_set_and_that_a_client_may_send_its_own(remote: bool) -> None:
    with pytest.raises(ConfigError) as raised:
        caller_of(make_settings(api_key=None), {}, remote=remote)

    assert "QUICKROUTER_API_KEY" in str(raised.value)
    assert "Authorization: Bearer" in str(raised.value)


def test_a_key_sent_over_stdio_headers_is_no_key_at_all() -> None:
    with pytest.raises(ConfigError, match="QUICKROUTER_API_KEY"):
        caller_of(make_settings(api_key=None), bearer(USER_KEY), remote=False)


@pytest.mark.parametrize("token", ["sk-clé-non-ascii", "sk-tab\tinside"])
def test_a_bearer_token_that_cannot_be_a_relay_key_is_refused_saying_what_a_key_looks_like(token: str) -> None:
    with pytest.raises(ConfigError, match="printable ASCII"):
        caller_of(make_settings(api_key=None), {"authorization": f"Bearer {token}"}, remote=True)


def test_a_callers_repr_never_shows_its_key() -> None:
    caller = caller_of(make_settings(api_key=None), bearer(USER_KEY), remote=True)

    assert USER_KEY not in repr(caller)
    assert USER_KEY not in caller.namespace


def test_a_fingerprint_depends_on_its_label_so_a_token_and_an_equal_key_are_different_histories() -> None:
    secret = SecretStr(TOKENS[0])

    assert fingerprint(secret) != fingerprint(secret, b"another label")
    settings = make_settings(http_tokens=TOKENS[0])
    as_token = caller_of(settings, bearer(TOKENS[0]), remote=True)
    as_key = caller_of(make_settings(api_key=None), bearer(TOKENS[0]), remote=True)
    assert as_token.namespace != as_key.namespace


@pytest.mark.parametrize(
    ("remote", "peer", "headers", "local"),
    [
        (False, None, None, True),  # stdio
        (True, "127.0.0.1", {}, True),
        (True, "::1", {}, True),
        (True, "10.0.0.7", {}, False),
        (True, None, {}, False),  # no peer address known
        (True, "not-an-address", {}, False),
        (True, "127.0.0.1", {"x-forwarded-for": "203.0.113.9"}, False),  # a proxy on this machine forwarded it
        (True, "127.0.0.1", {"forwarded": "for=203.0.113.9"}, False),
        (True, "127.0.0.1", {"x-real-ip": "203.0.113.9"}, False),
    ],
)
def test_the_local_user_is_on_stdio_or_directly_on_loopback(
    remote: bool, peer: str | None, headers: dict[str, str] | None, local: bool
) -> None:
    assert caller_of(make_settings(), headers, remote=remote, peer=peer).local is local


def test_a_token_holder_is_never_the_local_user_even_on_loopback() -> None:
    settings = make_settings(http_tokens=",".join(TOKENS))

    caller = caller_of(settings, bearer(TOKENS[0]), remote=True, peer="127.0.0.1")

    assert (caller.shared, caller.local) == (True, False)


def test_a_pass_through_caller_on_loopback_is_the_local_user_of_its_own_key() -> None:
    caller = caller_of(make_settings(api_key=None), bearer(USER_KEY), remote=True, peer="127.0.0.1")

    assert (paid_with(caller), caller.local) == (USER_KEY, True)
