"""The errors a person or a model reads (errors.py): each says what happened and what to do."""

from __future__ import annotations

from aigc_image_mcp.errors import ArgumentsError, TencentApiError, UpstreamError


def test_arguments_that_break_the_rules_are_listed_one_a_line_with_the_promise_that_nothing_was_charged() -> None:
    error = ArgumentsError("generate_image", ["model: unknown", "prompt: blank"])

    assert error.problems == ("model: unknown", "prompt: blank")
    assert str(error) == (
        "generate_image was not called: fix these arguments and call it again (nothing was charged).\n"
        "- model: unknown\n- prompt: blank"
    )


def test_tencents_refusal_is_a_relay_error_that_keeps_its_code_and_request_id_for_support() -> None:
    error = TencentApiError("Tencent Cloud refused the task.", code="AuthFailure", request_id="req-1")

    assert isinstance(error, UpstreamError)
    assert (error.code, error.request_id, error.status_code) == ("AuthFailure", "req-1", 200)
