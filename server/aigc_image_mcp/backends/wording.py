"""How an operation of a backend words the faults of its upstream's answers (a `Wording`), and the sentences every
backend's submit shares but for the upstream's name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wording:
    """One operation's message for each fault, as `str.format` templates. Fields: status, detail (`: <the upstream's
    message>` or nothing), kind (content type), excerpt, message, wait, what, name, limit."""

    refused_key: str
    rate_limited: str
    failed: str
    refused: str
    not_found: str
    not_json: str
    said: str
    unreadable: str
    too_large: str
    too_deep: str
    unsent: str
    sent: str


def retry_safely(refuser: str) -> str:
    """How to retry a submit that may have been billed, when `refuser` refuses a repeated session_id."""
    return f"To retry without risking a second charge, pass a session_id: {refuser} refuses a repeat within 3 days."


def may_exist(refuser: str) -> str:
    """What to tell of a submit whose answer could not be read."""
    return f"The task may have been created and billed, but it cannot be followed from here. {retry_safely(refuser)}"


def unread_submit(upstream: str, at: str, refuser: str) -> dict[str, str]:
    """The submit's faults that read alike for every upstream but for its name: an answer too large or too deep to
    read, and the connection lost after the task was sent. `at` is where it answers (a template field)."""
    unknown = may_exist(refuser)
    return {
        "too_large": f"{upstream}'s answer to the submit is over {{limit}} MB, so it was not read. {unknown}",
        "too_deep": f"{upstream} answered HTTP {{status}} with JSON nested too deeply to read. {unknown}",
        "sent": f"{upstream} at {at} {{what}} after the task was sent, so it may have been created and billed. Do not "
        f"resubmit blindly: ask the user first. {retry_safely(refuser)}",
    }
