"""The argument table's patterns (fields.py) mean the same in Python as in a client's ECMA-262 validator: in
particular a value with a newline at its end is refused, although Python's bare `$` would let it through."""

from __future__ import annotations

import re

import pytest

from aigc_image_mcp.catalog.fields import NON_BLANK_PATTERN, REFERENCE_PATTERN, TASK_ID, TASK_ID_PATTERN

from ..support.helpers import TASK


@pytest.mark.parametrize(
    ("task_id", "followable"),
    [
        (TASK, True),
        (f"{TASK}.v2", True),
        (".a", True),
        (f"{TASK}\n", False),
        ("a/b", False),
        ("", False),
        (".", False),
        ("..", False),
        ("...", False),
        ("..\n", False),
    ],
)
def test_a_task_id_is_letters_digits_dots_underscores_and_dashes_and_nothing_after(
    task_id: str, followable: bool
) -> None:
    assert bool(re.search(TASK_ID_PATTERN, task_id)) is followable


def test_the_longest_tencent_task_id_fits_the_task_id_argument() -> None:
    assert TASK_ID.max_length is not None
    assert TASK_ID.min_length == 1
    assert len(TASK) <= TASK_ID.max_length
    assert TASK in TASK_ID.description


@pytest.mark.parametrize(
    ("reference", "accepted"),
    [
        ("https://example.com/fox.png", True),
        ("http://example.com/fox.png", True),
        ("5285890784221233061", True),
        ("https://example.com/fox.png\n", False),
        ("https://example.com/a fox.png", False),
        ("ftp://example.com/fox.png", False),
        ("/home/me/fox.png", True),
        ("~/fox.png", True),
        ("C:\\Users\\me\\fox.png", True),
        ("fox.png", False),
        ("~fox.png", False),
        ("/home/me/fox.png\n", False),
        ("data:image/png;base64,iVBORw0KGgo=", True),
        ("data:image/png;base64,", False),
        ("data:text/plain;base64,QQ==", False),
    ],
)
def test_a_reference_image_is_a_url_a_vod_file_id_a_local_path_or_an_image_data_uri(
    reference: str, accepted: bool
) -> None:
    assert bool(re.search(REFERENCE_PATTERN, reference)) is accepted


@pytest.mark.parametrize(("prompt", "accepted"), [("a fox", True), ("  \n\t", False), ("", False)])
def test_a_prompt_must_say_something(prompt: str, accepted: bool) -> None:
    assert bool(re.search(NON_BLANK_PATTERN, prompt)) is accepted
