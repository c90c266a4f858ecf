"""The user's yes before a costly call (AIGC_IMAGE_CONFIRM_ABOVE), asked as roots.py asks for roots.

A generate_image call estimated above the threshold (in the prices' currency, or in images without prices) is
asked about with a form elicitation holding one boolean `confirm`: on 2025-11-25 connections an
`elicitation/create` request of the server's own; on 2026-07-28 an input request in the tool's answer, the client
retrying the same call with the user's answer. A yes given in one round of a 2026-07-28 call stays with it through
later rounds (a roots question) in `request_state`, bound to the call's arguments. A client that cannot be asked
(no elicitation capability, or a stateless HTTP connection on 2025-11-25 with no way back) gets a refusal telling
the assistant to ask the user and call again with `confirm_cost: true`. Calls at or under the threshold never ask.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context
from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..catalog.generate import CONFIRM_COST
from ..errors import CostNotConfirmedError
from ..results import Cost

if TYPE_CHECKING:
    from ..core.prices import Prices

logger = logging.getLogger(__name__)

CONFIRM_KEY = "confirm_cost"
"""The key of our question in an input request, and of its answer in the retry."""
_STATE = "confirmed-cost:"
_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Start the paid task", "description": "Yes to pay it."}},
    "required": ["confirm"],
}
_NOTHING_SENT = "Nothing was sent upstream and nothing was charged."


class ConfirmationNeeded(Exception):
    """The user must be asked first (2026-07-28): the tool hands `result` back as its answer."""

    def __init__(self, message: str) -> None:
        super().__init__("The user's yes is needed first.")
        request = ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=_FORM))
        self.result = InputRequiredResult(input_requests={CONFIRM_KEY: request})


def over_threshold(cost: Cost, threshold: float | None, prices: Prices | None) -> bool:
    """Whether a call of this estimate needs the user's yes: above `threshold` in money when there are prices (a
    model the prices leave out counts as above: its cost is unknown), else in images."""
    if threshold is None:
        return False
    if prices is None:
        return cost.images > threshold
    return cost.amount is None or cost.amount > threshold


async def confirm(ctx: Context[Any], cost: Cost, model: str, arguments: Mapping[str, Any]) -> str | None:
    """Return when the user said yes to this call (or its arguments carry `confirm_cost: true`); raise
    ConfirmationNeeded to ask on a 2026-07-28 call, or CostNotConfirmedError when the user said no or cannot be
    asked. Returns the `request_state` that keeps a 2026-07-28 yes through later rounds, or None."""
    if arguments.get(CONFIRM_COST) is True:
        return None
    question = _question(cost, model)
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        raise CostNotConfirmedError(_ask_the_user(cost, model))
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        state = _state(arguments)
        if ctx.request_state == state:
            return state
        answer = (ctx.input_responses or {}).get(CONFIRM_KEY)
        if answer is None:
            raise ConfirmationNeeded(question)
        said = answer if isinstance(answer, ElicitResult) else ElicitResult.model_validate(answer)
    else:
        try:
            said = await ctx.request_context.session.elicit_form(question, _FORM, ctx.request_id)
        except Exception as exc:
            logger.info("Could not ask the user to confirm a cost: %s", exc)
            raise CostNotConfirmedError(_ask_the_user(cost, model)) from exc
    if said.action == "accept" and (said.content or {}).get("confirm") is True:
        return _state(arguments)
    raise CostNotConfirmedError(_refused(said.action, cost, model))


def _question(cost: Cost, model: str) -> str:
    count = f"{cost.images} image{'s' * (cost.images != 1)}"
    price = (
        f" for about {cost.amount:.2f} {cost.currency}"
        if cost.amount is not None
        else " (its price is not in this server's price list)"
    )
    return f"Start a paid image task on {model}: {count}{price}?"


def _ask_the_user(cost: Cost, model: str) -> str:
    return (
        f"generate_image needs the user's yes first: {_question(cost, model)[:-1]}, above what this server spends "
        f"without asking (AIGC_IMAGE_CONFIRM_ABOVE). Ask the user; only if they say yes, call generate_image again "
        f'with the same arguments and "confirm_cost": true. {_NOTHING_SENT}'
    )


def _refused(action: str, cost: Cost, model: str) -> str:
    how = "declined" if action == "decline" else "did not confirm"
    return (
        f"The user {how} the cost ({cost.line()} on {model}), so no task was started. {_NOTHING_SENT} Do not call "
        "generate_image again for this unless the user asks for it."
    )


def _state(arguments: Mapping[str, Any]) -> str:
    """A yes bound to these very arguments: a retry with other arguments (more images) is asked again."""
    digest = hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()
    return _STATE + digest[:32]
