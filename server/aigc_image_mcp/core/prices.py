"""The operator's prices (AIGC_IMAGE_PRICES): what one image of a model costs, per resolution, read and checked
once at start. Tencent bills per successful image; its prices are not published in a form we can verify, so they
come from the operator's file, never from us."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import ConfigError
from ..results import Cost

if TYPE_CHECKING:
    from ..catalog.models import Catalog
    from ..catalog.request import SubmitRequest

VARIABLE = "AIGC_IMAGE_PRICES"
DEFAULT = "default"
"""The key of a per-resolution price that stands for every resolution the entry does not list (and no resolution)."""


@dataclass(frozen=True)
class Prices:
    """Prices per image, in `currency`: model id -> resolution (or "default") -> price."""

    currency: str
    models: Mapping[str, Mapping[str, float]]

    def per_image(self, model: str, resolution: str | None) -> float | None:
        """The price of one image of `model` at `resolution` (None: the upstream's default); None when unpriced."""
        table = self.models.get(model) or self._folded.get(model.casefold())
        if table is None:
            return None
        if resolution is not None:
            found = table.get(resolution)
            if found is None:
                found = next((p for r, p in table.items() if r.casefold() == resolution.casefold()), None)
            if found is not None:
                return found
        return table.get(DEFAULT)

    def amount(self, model: str, resolution: str | None, images: int) -> float | None:
        """What `images` images of `model` at `resolution` cost; None when the model is not priced."""
        price = self.per_image(model, resolution)
        return None if price is None else round(price * images, 6)

    def label(self, model: str) -> str | None:
        """The price of one image of `model` in a few characters ("0.5 CNY", "0.5-1.2 CNY" when it depends on the
        resolution), for the tool description; None when unpriced."""
        table = self.models.get(model) or self._folded.get(model.casefold())
        if table is None:
            return None
        low, high = min(table.values()), max(table.values())
        return f"{low:g} {self.currency}" if low == high else f"{low:g}-{high:g} {self.currency}"

    def labels(self, models: Iterable[str]) -> dict[str, str]:
        """`label` of each priced model of `models`, by id."""
        return {model: label for model in models if (label := self.label(model)) is not None}

    @cached_property  # a frozen dataclass without slots: cached in the instance's __dict__
    def _folded(self) -> Mapping[str, Mapping[str, float]]:
        return {model.casefold(): table for model, table in self.models.items()}


def quote(prices: Prices | None, model: str, request: SubmitRequest | None = None) -> Cost:
    """What a task of `model` asked for by `request` costs before it runs: the images it requests (1 unless it says;
    1 for a task whose request is not known) and, when `model` is priced, their amount."""
    config = request.output_config if request is not None else None
    images = (config.output_image_count if config is not None else None) or 1
    amount = None if prices is None else prices.amount(model, config.resolution if config else None, images)
    return Cost(images=images, amount=amount, currency=None if amount is None or prices is None else prices.currency)


def load_prices(path: Path, catalog: Catalog) -> Prices:
    """The prices of `path`, checked against `catalog` (the active backend's): raises ConfigError naming the file
    and the entry for a file that does not parse, an unknown model id, a resolution the model does not take, or a
    price that is negative or not a number."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{VARIABLE}: cannot read {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{VARIABLE}: {path} is not valid JSON: {exc}") from exc
    return parse_prices(data, catalog, str(path))


def parse_prices(data: Any, catalog: Catalog, source: str) -> Prices:
    """`data` (a prices file's JSON) as Prices; errors name `source` and the entry."""

    def refuse(entry: str, problem: str) -> ConfigError:
        return ConfigError(f"{VARIABLE}: {source}: {entry}: {problem}")

    if not isinstance(data, dict):
        raise refuse("top level", 'must be an object {"currency": "...", "models": {...}}')
    top = cast(dict[str, Any], data)
    if unknown := sorted(set(top) - {"currency", "models", "note"}):
        raise refuse(unknown[0], 'is not a key of a prices file; it takes "currency", "models" and "note"')
    if not isinstance(top.get("note", ""), str):
        raise refuse("note", "must be a string (a remark for whoever edits the file; the server ignores it)")
    currency = top.get("currency")
    if not isinstance(currency, str) or not currency.strip():
        raise refuse("currency", 'must be a currency code such as "CNY" or "USD"')
    models = top.get("models")
    if not isinstance(models, dict) or not models:
        raise refuse("models", "must be an object of model id -> price per image, with at least one model")
    tables: dict[str, Mapping[str, float]] = {}
    for model, value in cast(dict[str, Any], models).items():
        spec = catalog.get(model)
        if spec is None:
            raise refuse(f"models.{model}", f"is not a model of this backend; its models are {', '.join(catalog.ids)}")
        entry = f"models.{model}"
        if isinstance(value, dict):
            table = {str(r): _price(p, f"{entry}.{r}", refuse) for r, p in cast(dict[str, Any], value).items()}
            if DEFAULT not in table:
                raise refuse(entry, f'needs a "{DEFAULT}" price for the resolutions it does not list')
            offered = {r.casefold() for r in spec.resolutions}
            if odd := [r for r in table if r != DEFAULT and r.casefold() not in offered]:
                allowed = ", ".join(spec.resolutions) or "none"
                raise refuse(f"{entry}.{odd[0]}", f"is not a resolution of {spec.id}; it takes {allowed}")
        else:
            table = {DEFAULT: _price(value, entry, refuse)}
        tables[spec.id] = table
    return Prices(currency=currency.strip(), models=tables)


def _price(value: Any, entry: str, refuse: Callable[[str, str], ConfigError]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise refuse(entry, f"must be a number (the price of one image), got {json.dumps(value)}")
    if value < 0:
        raise refuse(entry, f"is negative ({value}); a price is 0 or more")
    return float(value)
