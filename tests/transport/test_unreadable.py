"""The id of a line the SDK's parser refused, read by stdio.py's scan of the line's top level (the real process is
driven in test_stdio.py)."""

from __future__ import annotations

import time

import pytest

from aigc_image_mcp.transport.stdio import readable_id


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('{"jsonrpc": "2.0", "id": 3, "method": "ping", "params": {"x": "\\ud800"}}', 3),
        ('{"method": "ping", "params": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + ', "id": "late"}', "late"),
        ('{"method": "ping", "params": {"id": 99, "x": [1, {"id": 98}]}}', None),
        ('{"x": "a \\"id\\": 5 inside a string", "id": "real"}', "real"),
        ('{"x": "id", "y": 1}', None),
        ('{"id": -12, "method": "ping"', -12),  # cut short: the id came before the cut
        ('{"id": 1.5}', None),
        ('{"id": 1e3}', None),
        ('{"id": true}', None),
        ('{"id": null}', None),
        ('{"id": "\\udfff"}', None),  # a lone surrogate cannot be written back
        ('{"id": ' + "1" * 30 + "}", None),
        ('[{"id": 1}]', None),
        ("not JSON at all", None),
    ],
)
def test_the_top_level_id_is_read_where_it_can_be_and_no_other(line: str, found: int | str | None) -> None:
    assert readable_id(line) == found


def test_the_scan_of_a_line_nested_a_million_levels_takes_no_recursion_and_little_time() -> None:
    line = '{"params": ' + "[" * 1_000_000 + "]" * 1_000_000 + ', "id": 8}'
    started = time.perf_counter()

    assert readable_id(line) == 8
    assert time.perf_counter() - started < 5
