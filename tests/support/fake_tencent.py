"""A fake Tencent Cloud VOD API on 127.0.0.1: it checks the TC3-HMAC-SHA256 signature of every request with the
signing algorithm written out here (not the SDK's), and answers CreateAigcImageTask, DescribeTaskDetail,
DescribeAigcUsageData and DescribeAigcQuotas in Tencent's shapes (HTTP 200 with `Response`, errors as
`Response.Error`), or with a scripted `Raw` answer as it is."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections import defaultdict, deque
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fake_relay import png

# Canaries: made-up credentials the tests look for everywhere a secret must not appear.
SECRET_ID = "AKIDcanary0000000000000000000000000"  # noqa: S105
SECRET_KEY = "skey-canary-5c1d9e0f7a2b4c6d8e0f1a2b"  # noqa: S105
TASK_ID = "1500012345-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Raw:
    """An answer sent byte for byte: any status, headers and body. With `filler`, that many more 64 KB chunks of
    b"a" follow the body, without a content-length (the connection's end ends the body)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    filler: int = 0


Answer = dict[str, Any] | Raw


def tc3_signature(secret_key: str, *, host: str, content_type: str, body: bytes, timestamp: int, date: str) -> str:
    """Tencent's TC3-HMAC-SHA256 (https://www.tencentcloud.com/document/api/266/31756), for a POST to `/`."""
    canonical = "\n".join(
        ["POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host", _sha256(body)]
    )
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/vod/tc3_request\n{_sha256(canonical.encode())}"
    key = _hmac(("TC3" + secret_key).encode(), date)
    for part in ("vod", "tc3_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def error(code: str, message: str) -> Answer:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-err"}}


def accepted(task_id: str = TASK_ID) -> Answer:
    return {"Response": {"TaskId": task_id, "RequestId": "req-1"}}


def detail(task_id: str, status: str = "FINISH", **task: Any) -> Answer:
    """DescribeTaskDetail of an image task; `task` adds or replaces AigcImageTask fields."""
    image = {"TaskId": task_id, "Status": status, "ErrCode": 0, "ErrCodeExt": "", "Message": "", "Progress": 100}
    image |= {"Input": {"ModelName": "GG", "ModelVersion": "3.1", "Prompt": "a fox"}, "Output": {"FileInfos": []}}
    top = {"Status": status, "TaskType": "AigcImageTask", "RequestId": "req-q", "AigcImageTask": image | task}
    return {"Response": top}


@dataclass(frozen=True)
class Point:
    """What Tencent counted for the account in the 5 minutes from `time` (ISO 8601 with an offset)."""

    specification: str
    time: str
    tasks: int
    images: int


def usage_answer(points: list[Point], params: dict[str, Any]) -> Answer:
    """DescribeAigcUsageData as Tencent answers it: the points from StartTime to EndTime, as they are for a range of
    one day or less, else added up per day (dated at midnight in the points' own offset)."""
    start, end = datetime.fromisoformat(params["StartTime"]), datetime.fromisoformat(params["EndTime"])
    if params.get("AigcType") != "Image" or end < start:
        return error("InvalidParameterValue", "AigcType or the time range is not valid")
    chosen = [p for p in points if start <= datetime.fromisoformat(p.time) <= end]
    daily = end - start > timedelta(days=1)
    series: defaultdict[str, defaultdict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for point in chosen:
        when = datetime.fromisoformat(point.time)
        key = when.replace(hour=0, minute=0, second=0).isoformat() if daily else point.time
        series[point.specification][key][0] += point.tasks
        series[point.specification][key][1] += point.images
    data = [
        {"Specification": spec, "DataSet": [{"Time": t, "Count": c, "Usage": u} for t, (c, u) in sorted(by.items())]}
        for spec, by in series.items()
    ]
    return {"Response": {"AigcUsageDataSet": data, "RequestId": "req-usage"}}


@dataclass
class FakeTencent:
    """Records each verified request's action and parameters; answers from scripts (default: accept, then finish
    with one image served by this fake)."""

    secret_id: str = SECRET_ID
    secret_key: str = SECRET_KEY
    token: str | None = None
    base_url: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=lambda: [])
    refused: list[str] = field(default_factory=lambda: [])
    submits: deque[Answer] = field(default_factory=lambda: deque())
    queries: dict[str, deque[Answer]] = field(default_factory=lambda: {})
    sent: int = 0
    """Bytes of the bodies of Raw answers written so far (a client that stops reading stops the writing)."""
    usage: list[Point] = field(default_factory=lambda: [])
    """The account's figures DescribeAigcUsageData reports."""
    quotas: list[dict[str, Any]] = field(default_factory=lambda: [])
    """The AigcQuotaItem entries DescribeAigcQuotas reports."""
    account: deque[Answer] = field(default_factory=lambda: deque())
    """Scripted answers to DescribeAigcUsageData and DescribeAigcQuotas, used before the figures above."""

    def answer(self, headers: dict[str, str], body: bytes) -> Answer:
        problem = self.check(headers, body)
        if problem:
            self.refused.append(problem)
            return error("AuthFailure.SignatureFailure", f"The provided credentials could not be validated: {problem}")
        action, params = headers.get("x-tc-action", ""), json.loads(body or b"{}")
        self.calls.append((action, params))
        if action == "CreateAigcImageTask":
            return self.submits.popleft() if self.submits else accepted()
        if action == "DescribeTaskDetail":
            script = self.queries.get(params.get("TaskId", ""))
            if script:
                return script.popleft() if len(script) > 1 else script[0]
            image = {"FileUrl": f"{self.base_url}/files/{params['TaskId']}.png", "FileType": "png"}
            return detail(params["TaskId"], Output={"FileInfos": [image | {"StorageMode": "Temporary"}]})
        if action in ("DescribeAigcUsageData", "DescribeAigcQuotas") and self.account:
            return self.account.popleft()
        if action == "DescribeAigcUsageData":
            return usage_answer(self.usage, params)
        if action == "DescribeAigcQuotas":
            found = [q for q in self.quotas if q.get("QuotaType") == params.get("QuotaType", q.get("QuotaType"))]
            return {"Response": {"QuotaSet": found, "TotalCount": len(found), "RequestId": "req-quotas"}}
        return error("InvalidAction", f"no action {action}")

    def check(self, headers: dict[str, str], body: bytes) -> str:
        """What is wrong with the request's signature, or '' when it is Tencent's."""
        match = _AUTH.match(headers.get("authorization", ""))
        if match is None:
            return "no TC3-HMAC-SHA256 Authorization header"
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        facts = (match["id"], match["date"], match["service"], match["signed"], headers.get("x-tc-version"))
        if facts != (self.secret_id, date, "vod", "content-type;host", "2018-07-17"):
            return f"credential scope or version {facts!r} is not this account's"
        if self.token is not None and headers.get("x-tc-token") != self.token:
            return "the session token is missing or wrong"
        expected = tc3_signature(
            self.secret_key,
            host=headers.get("host", ""),
            content_type=headers.get("content-type", ""),
            body=body,
            timestamp=timestamp,
            date=date,
        )
        return "" if hmac.compare_digest(expected, match["signature"]) else "the signature does not match"

    def actions(self, name: str) -> list[dict[str, Any]]:
        return [params for action, params in self.calls if action == name]


@contextmanager
def serve(fake: FakeTencent) -> Generator[str]:
    """Serve `fake` on 127.0.0.1; yields its base URL (also set as `fake.base_url`)."""

    class _Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = fake.answer(headers, body)
            if isinstance(answer, Raw):
                self._send_raw(answer)
            else:
                self._send(json.dumps(answer).encode(), "application/json")

        def do_GET(self) -> None:
            self._send(png(), "image/png")

        def _send(self, content: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def _send_raw(self, answer: Raw) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if not answer.filler:
                self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            chunk = b"a" * 65_536
            try:
                for part in (answer.body, *(chunk for _ in range(answer.filler))):
                    self.wfile.write(part)
                    fake.sent += len(part)
            except OSError:
                pass  # the client hung up

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake.base_url
    finally:
        server.shutdown()
        server.server_close()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()
