"""Tencent's own figures for the account, on the tencentcloud backend: DescribeAigcUsageData (what Tencent counted,
per billing specification such as Hunyuan3.0_2K) and DescribeAigcQuotas (the caps set on the account's AIGC use).
Their parameters, their answers' shapes (as tencentcloud/vod/v20180717/models.py has them), and the wording of their
faults; tencentcloud.py sends them.

Tencent's days are its own: the range asked for runs from midnight to midnight in Beijing time (UTC+8), and each
figure is dated as Tencent's `Time` states it. For a range of one day or less Tencent answers 5-minute points: they
are added up per day, so every answer becomes one row per day and specification.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..errors import TencentApiError
from .base import AccountQuota, SpecUsage
from .tencent_shapes import TencentError
from .wording import Wording

TENCENT_DAY = "+08:00"
"""The offset of the days Tencent's usage figures are counted in (Beijing time)."""
_TENCENT_ZONE = timezone(timedelta(hours=8))
_QUOTA_PAGE = 100
"""DescribeAigcQuotas' largest page (Limit 1..100)."""
_CREDENTIALS = "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"
ACCOUNT = Wording(
    refused_key="Tencent Cloud at {where} refused the credentials for {action} (HTTP {status}{detail}). Check "
    + _CREDENTIALS
    + ", and that the key may read VOD's AIGC usage.",
    rate_limited="Tencent Cloud at {where} is rate-limiting requests (HTTP 429{detail}). {wait} before asking again.",
    failed="Tencent Cloud at {where} failed to answer {action} (HTTP {status}{detail}); ask again in a minute.",
    refused="Tencent Cloud at {where} refused {action} (HTTP {status}{detail}).",
    not_found="Tencent Cloud at {where} answered HTTP 404{detail} to {action}.",
    not_json="Tencent Cloud at {where} answered {action} with {kind} instead of JSON: {excerpt}.",
    said="Tencent Cloud refused {action}: {message}.",
    unreadable="Tencent Cloud's answer is not the {action} response it should be: {excerpt}.",
    too_large="Tencent Cloud's answer to {action} is over {limit} MB, so it was not read.",
    too_deep="Tencent Cloud answered {action} with JSON nested too deeply to read.",
    unsent="Could not get an answer from Tencent Cloud to {action} ({name}).",
    sent="Could not get an answer from Tencent Cloud to {action} ({name}).",
)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Point(_Wire):
    """TaskStatDataItem: a period's start (ISO 8601 with Tencent's offset), its tasks and its usage (images)."""

    time: str = Field(alias="Time")
    count: int = Field(default=0, alias="Count")
    usage: int = Field(default=0, alias="Usage")


class _Series(_Wire):
    """AigcUsageDataItem: one billing specification's points."""

    specification: str = Field(default="unknown", alias="Specification")
    data_set: list[_Point] = Field(default_factory=lambda: [], alias="DataSet")


class _UsageAnswer(_Wire):
    error: TencentError | None = Field(default=None, alias="Error")
    request_id: str | None = Field(default=None, alias="RequestId")
    series: list[_Series] = Field(default_factory=lambda: [], alias="AigcUsageDataSet")


class UsageEnvelope(_Wire):
    response: _UsageAnswer = Field(alias="Response")


class _QuotaItem(_Wire):
    """AigcQuotaItem: a cap (QuotaLimit, in images for QuotaType Image) and what is used of it."""

    quota_type: str = Field(default="Image", alias="QuotaType")
    limit: int = Field(default=0, alias="QuotaLimit")
    usage: int = Field(default=0, alias="Usage")


class _QuotaAnswer(_Wire):
    error: TencentError | None = Field(default=None, alias="Error")
    request_id: str | None = Field(default=None, alias="RequestId")
    quotas: list[_QuotaItem] | None = Field(default=None, alias="QuotaSet")


class QuotaEnvelope(_Wire):
    response: _QuotaAnswer = Field(alias="Response")


Envelope = TypeVar("Envelope", UsageEnvelope, QuotaEnvelope)


def checked(answer: Envelope, action: str) -> Envelope:
    """The answer, or TencentApiError when it is Tencent's Response.Error."""
    error = answer.response.error
    if error is None:
        return answer
    code, message = error.code or "UnknownError", error.message or "no message"
    where = f" (RequestId {answer.response.request_id})" if answer.response.request_id else ""
    hint = ""
    if code.startswith("AuthFailure") or code.startswith("UnauthorizedOperation"):
        hint = f" Check {_CREDENTIALS}, and that the key may read VOD's AIGC usage (vod:{action})."
    elif code.startswith("InvalidParameterValue.SubAppId") or code == "FailedOperation.InvalidVodUser":
        hint = " Set AIGC_IMAGE_VOD_SUBAPP_ID to your VOD application's ID (VOD console, Application management)."
    raise TencentApiError(f"Tencent Cloud refused {action}: {code}: {message}{where}.{hint}", code=code)


def usage_params(days: int, sub_app_id: int | None, now: datetime | None = None) -> dict[str, Any]:
    """DescribeAigcUsageData's parameters for the images of Tencent's last `days` days (today included), whole."""
    last = (now or datetime.now(UTC)).astimezone(_TENCENT_ZONE).date()
    first = last - timedelta(days=days - 1)
    params: dict[str, Any] = {
        "StartTime": f"{first.isoformat()}T00:00:00{TENCENT_DAY}",
        "EndTime": f"{last.isoformat()}T23:59:59{TENCENT_DAY}",
        "AigcType": "Image",
    }
    return params if sub_app_id is None else {**params, "SubAppId": sub_app_id}


def quota_params(sub_app_id: int | None) -> dict[str, Any]:
    """DescribeAigcQuotas' parameters: the image caps, one page of the most it gives."""
    params: dict[str, Any] = {"QuotaType": "Image", "Limit": _QUOTA_PAGE}
    return params if sub_app_id is None else {**params, "SubAppId": sub_app_id}


def usage_rows(answer: UsageEnvelope) -> list[SpecUsage]:
    """One row per day (as Tencent dates its points) and specification, the points of each added up; newest day
    first, specifications in order; days with no task left out."""
    totals: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for series in answer.response.series:
        for point in series.data_set:
            total = totals[(point.time[:10], series.specification)]
            total[0] += point.count
            total[1] += point.usage
    rows = [SpecUsage(day, spec, tasks, images) for (day, spec), (tasks, images) in totals.items() if tasks or images]
    return sorted(rows, key=lambda row: (_descending(row.date), row.specification))


def quota_rows(answer: QuotaEnvelope) -> list[AccountQuota]:
    """The caps that are set (a cap of 0 is none)."""
    return [
        AccountQuota(item.quota_type, item.limit, item.usage) for item in answer.response.quotas or [] if item.limit
    ]


def _descending(day: str) -> tuple[int, ...]:
    return tuple(-ord(character) for character in day)
