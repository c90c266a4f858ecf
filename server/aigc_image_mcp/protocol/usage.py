"""get_image_usage's answer as an MCP tool result: lines the model can quote, and the same rows as structured
content. Tencent's figures are labelled as Tencent's, apart from this server's own counts."""

from __future__ import annotations

from mcp.types import CallToolResult, TextContent

from ..results import Usage, UsageRow


def usage_result(usage: Usage) -> CallToolResult:
    """The usage as a tool result."""
    return CallToolResult(content=[TextContent(type="text", text=usage_text(usage))], structured_content=usage.dump())


def usage_text(usage: Usage) -> str:
    """The usage in lines: this server's rows and total, today's budget, then Tencent's rows, then the notes."""
    span = "today" if usage.days == 1 else f"the {usage.days} days since {usage.since}"
    lines = [f"Your usage, {span} (UTC days), from this server's history:"]
    lines += [_local_line(row, usage.currency) for row in usage.local] or ["- no tasks."]
    if usage.local:
        tasks, images = sum(row.tasks for row in usage.local), sum(row.images for row in usage.local)
        total = _amount(_sum(usage.local), usage.currency)
        lines.append(f"Total: {_count(tasks, 'task')}, {_count(images, 'image')}{total}.")
    if usage.daily_image_limit is not None:
        lines.append(f"Images asked for today (UTC): {usage.images_today or 0} of {usage.daily_image_limit}.")
    if usage.tencent is not None:
        lines.append(
            "Tencent's own figures for the whole account (DescribeAigcUsageData; Tencent's days, UTC+8), which may "
            "include use by other programs:"
        )
        lines += [
            f"- {row.date} | {row.specification} | {_count(row.tasks, 'task')} | {_count(row.images, 'image')}"
            for row in usage.tencent
        ] or ["- none."]
    lines += [f"Note: {note}" for note in usage.notes]
    return "\n".join(lines)


def _local_line(row: UsageRow, currency: str | None) -> str:
    return f"- {row.date} | {row.model} | {_count(row.tasks, 'task')} | {_count(row.images, 'image')}" + _amount(
        row.amount, currency, " | "
    )


def _sum(rows: list[UsageRow]) -> float | None:
    amounts = [row.amount for row in rows]
    return None if not amounts or any(amount is None for amount in amounts) else sum(a or 0.0 for a in amounts)


def _amount(amount: float | None, currency: str | None, before: str = ", ") -> str:
    if amount is None or currency is None:
        return ""
    return f"{before}about {amount:.2f} {currency}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"
