"""Our exception tree. Every message is a sentence a person or a model can act on.

* AigcImageError
  x ConfigError                - the server's own configuration is missing or wrong (no API key)
  x CatalogError               - a model catalog file is malformed (raised at start)
  x ArgumentsError             - tool arguments break a catalog rule; nothing was sent
  x UpstreamError              - a call to the upstream (the relay, or Tencent Cloud direct) failed
    - UpstreamAuthError        - 401/403, or Tencent's refused-credentials codes: the credentials were refused
    - UpstreamRateLimitError   - 429: slow down, honour retry_after
    - UpstreamUnavailableError - 5xx: the relay or Tencent failed
    - UpstreamRejectedError    - another 4xx, or an error body from the relay itself
    - TencentApiError          - Tencent's {"Response":{"Error":{Code,Message}}} envelope
      - NoSuchTaskError        - ... saying it does not know the TaskId (or it is over 3 days old)
    - UpstreamProtocolError    - an answer we cannot read: not JSON, no TaskId
    - UpstreamConnectionError  - no answer at all: connection failed or timed out
  x HistoryError               - the task history database cannot be read or written
  x UnknownTaskError           - a task outside the caller's own history, where only those are shown
  x ImageError                 - a finished image could not be downloaded, saved or previewed
  x QuotaError                 - the caller's daily task limit is reached; nothing was sent
  x CostNotConfirmedError      - a call above AIGC_IMAGE_CONFIRM_ABOVE lacks the user's yes; nothing was sent
"""

from __future__ import annotations

from collections.abc import Sequence


class AigcImageError(Exception):
    """Base of every anticipated failure; the server turns it into a tool error."""


class ConfigError(AigcImageError):
    """The server's configuration is missing or wrong."""


class CatalogError(AigcImageError):
    """A model catalog file is malformed."""


class ArgumentsError(AigcImageError):
    """Tool arguments break one or more catalog rules."""

    def __init__(self, tool: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(
            f"{tool} was not called: fix these arguments and call it again (nothing was charged).\n{lines}"
        )


class UpstreamError(AigcImageError):
    """A call to the upstream (the relay, or Tencent Cloud direct) failed."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class UpstreamAuthError(UpstreamError):
    """The upstream refused the credentials (the relay key, or Tencent's SecretId/SecretKey)."""


class UpstreamRateLimitError(UpstreamError):
    """The upstream asked us to slow down."""

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class UpstreamUnavailableError(UpstreamError):
    """The upstream, or the service behind the relay, failed (5xx)."""


class UpstreamRejectedError(UpstreamError):
    """The upstream refused the request with a client error of its own."""


class TencentApiError(UpstreamError):
    """Tencent Cloud answered with its error envelope."""

    def __init__(self, message: str, *, code: str, request_id: str | None = None) -> None:
        super().__init__(message, status_code=200)
        self.code = code
        self.request_id = request_id


class NoSuchTaskError(TencentApiError):
    """Tencent does not know the TaskId asked about: not created with these credentials, or over 3 days old."""


class UpstreamProtocolError(UpstreamError):
    """The upstream answered with something we cannot read."""


class UpstreamConnectionError(UpstreamError):
    """The upstream could not be reached or did not answer in time."""

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class HistoryError(AigcImageError):
    """The task history database cannot be read or written."""


class UnknownTaskError(AigcImageError):
    """A task that is not in the caller's own history, on a server whose key several callers share."""


class ImageError(AigcImageError):
    """A finished image could not be downloaded, saved or previewed."""


class QuotaError(AigcImageError):
    """The caller has started as many tasks today as the server allows; nothing was sent."""


class CostNotConfirmedError(AigcImageError):
    """A call estimated above AIGC_IMAGE_CONFIRM_ABOVE did not get the user's yes; nothing was sent."""
