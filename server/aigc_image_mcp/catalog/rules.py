"""The rules an argument can carry, each declared once on its fields.Argument. From one rule come both its JSON Schema
(schema.py: the portable property, and the full profile's `pattern` and per-model branch) and its check with the
message it gives (validation.py). A rule that differs per model states every model's limits in the property's
description (`{models}`), each model's own in the full profile's branch for it, and checks the value against the
model chosen."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from .models import Catalog, ModelSpec, near_miss

Schema = dict[str, Any]
NEVER: Schema = {"not": {}}
"""The full profile's branch for an argument the model does not take."""


@dataclass(frozen=True)
class Pattern:
    """Each string (of an array: each item) matches `regex`: the full profile says so as `pattern`; the check refuses
    with `refusal`, in which {name} is the argument and {value} the first string that does not match."""

    regex: str
    refusal: str

    def refuses(self, name: str, values: Sequence[str]) -> list[str]:
        bad = next((value for value in values if not re.search(self.regex, value)), None)
        return [] if bad is None else [self.refusal.format(name=name, value=show(bad))]


class PerModel:
    """A rule that differs per model. `sometimes`: offered only when a model of the catalog takes the argument."""

    sometimes: bool = False
    judged_by_values: bool = False
    """The value alone is only checked for its type: what the model takes says the rest."""

    def taken(self, spec: ModelSpec) -> bool:
        raise NotImplementedError

    def models(self, catalog: Catalog) -> str:
        """Which models take it, and what each takes: the `{models}` of the argument's description."""
        return names(catalog, [spec.id for spec in catalog.models if self.taken(spec)])

    def keywords(self, catalog: Catalog) -> Schema:
        """The portable property's limits: the widest any model takes."""
        return {}

    def branch(self, spec: ModelSpec) -> Schema:
        """The property's schema in the full profile's branch for `spec`."""
        return {} if self.taken(spec) else NEVER

    def joint(self, spec: ModelSpec, name: str) -> Schema:
        """Keywords `spec`'s branch adds at its top, for a rule across arguments."""
        return {}

    def check(self, name: str, value: Any, spec: ModelSpec, given: Mapping[str, Any]) -> list[str]:
        """The problems of `value` (well typed) for `spec`."""
        return [] if self.taken(spec) else [f"{name}: not accepted by {spec.id}; leave it out"]


@dataclass(frozen=True)
class Selects(PerModel):
    """The argument that names the model: one of the catalog's ids, in any case; the full profile's branches are keyed
    on it rather than stating it."""

    judged_by_values = True

    def taken(self, spec: ModelSpec) -> bool:
        return True

    def keywords(self, catalog: Catalog) -> Schema:
        return {"enum": list(catalog.ids)}

    def pick(self, name: str, value: Any, catalog: Catalog) -> tuple[ModelSpec | None, list[str]]:
        """The model `value` names, or the problem, with a hint where it names one of another backend's models."""
        spec = catalog.get(value) if isinstance(value, str) else None
        if spec is not None:
            return spec, []
        hint = near_miss(value, catalog) if isinstance(value, str) else ""
        return None, [f"{name}: {show(value)} is not offered{hint}; use one of {', '.join(catalog.ids)}"]


@dataclass(frozen=True)
class Closed(PerModel):
    """One of the values the model takes (`values_of`); left out where it takes none."""

    values_of: Callable[[ModelSpec], tuple[str, ...]]
    sometimes: bool = False
    judged_by_values = True

    def taken(self, spec: ModelSpec) -> bool:
        return bool(self.values_of(spec))

    def models(self, catalog: Catalog) -> str:
        return grouped(catalog, self.values_of)

    def keywords(self, catalog: Catalog) -> Schema:
        return {"enum": list(dict.fromkeys(value for spec in catalog.models for value in self.values_of(spec)))}

    def branch(self, spec: ModelSpec) -> Schema:
        values = self.values_of(spec)
        return {"enum": list(values)} if values else NEVER

    def check(self, name: str, value: Any, spec: ModelSpec, given: Mapping[str, Any]) -> list[str]:
        return choice(name, value, self.values_of(spec), spec.id)


@dataclass(frozen=True)
class UpTo(PerModel):
    """A whole number from 1 to the model's `most_of` (0: not taken)."""

    most_of: Callable[[ModelSpec], int]
    refusal: str
    """When the number is out of the model's range: {name}, {model} and {most}."""
    sometimes: bool = False

    def taken(self, spec: ModelSpec) -> bool:
        return self.most_of(spec) > 0

    def models(self, catalog: Catalog) -> str:
        return grouped(catalog, lambda spec: (f"1 to {self.most_of(spec)}",) if self.taken(spec) else ())

    def keywords(self, catalog: Catalog) -> Schema:
        return {"minimum": 1, "maximum": max(self.most_of(spec) for spec in catalog.models)}

    def branch(self, spec: ModelSpec) -> Schema:
        return {"maximum": self.most_of(spec)} if self.taken(spec) else NEVER

    def check(self, name: str, value: Any, spec: ModelSpec, given: Mapping[str, Any]) -> list[str]:
        most = self.most_of(spec)
        if not self.taken(spec):
            return super().check(name, value, spec, given)
        return [] if 1 <= value <= most else [self.refusal.format(name=name, model=spec.id, most=most)]


@dataclass(frozen=True)
class MaxItems(PerModel):
    """At most the model's `most_of` items (0: not taken, and said so in the description)."""

    most_of: Callable[[ModelSpec], int]

    def taken(self, spec: ModelSpec) -> bool:
        return self.most_of(spec) > 0

    def models(self, catalog: Catalog) -> str:
        return grouped(catalog, lambda spec: (str(self.most_of(spec)),) if self.taken(spec) else ())

    def keywords(self, catalog: Catalog) -> Schema:
        return {"maxItems": max(self.most_of(spec) for spec in catalog.models)}

    def branch(self, spec: ModelSpec) -> Schema:
        return {"maxItems": self.most_of(spec)}

    def check(self, name: str, value: Any, spec: ModelSpec, given: Mapping[str, Any]) -> list[str]:
        most = self.most_of(spec)
        return [f"{name}: {len(value)} given, {spec.id} takes at most {most}"] if len(value) > most else []


@dataclass(frozen=True)
class Taken(PerModel):
    """Taken by the models whose `attribute` is set, refused for the others."""

    attribute: str
    sometimes: bool = False

    def taken(self, spec: ModelSpec) -> bool:
        return bool(getattr(spec, self.attribute))


@dataclass(frozen=True)
class Follows(PerModel):
    """Taken by the models whose `attribute` is set: one item per item of the array `leader` (ruled by `lead`), never
    more, and only with it."""

    attribute: str
    leader: str
    lead: MaxItems
    refusal: str
    """For a model that does not take it: {name}, {model}."""
    needs: str
    """When `leader` is not given: {name}, {leader}."""
    too_many: str
    """When there are more items than the leader's: {name}, {given}, {count}."""

    def taken(self, spec: ModelSpec) -> bool:
        return bool(getattr(spec, self.attribute))

    def keywords(self, catalog: Catalog) -> Schema:
        return self.lead.keywords(catalog)

    def branch(self, spec: ModelSpec) -> Schema:
        return self.lead.branch(spec) if self.taken(spec) else NEVER

    def joint(self, spec: ModelSpec, name: str) -> Schema:
        if not self.taken(spec):
            return {}
        # No more items than the leader's: for each count k, "at most k leaders" implies "at most k of these".
        not_more = [
            {"if": {"properties": {self.leader: {"maxItems": k}}}, "then": {"properties": {name: {"maxItems": k}}}}
            for k in range(self.lead.most_of(spec))
        ]
        return {"dependentRequired": {name: [self.leader]}, "allOf": not_more}

    def check(self, name: str, value: Any, spec: ModelSpec, given: Mapping[str, Any]) -> list[str]:
        if not self.taken(spec):
            return [self.refusal.format(name=name, model=spec.id)]
        if self.leader not in given:
            return [self.needs.format(name=name, leader=self.leader)]
        count = len(given[self.leader])
        return [self.too_many.format(name=name, given=len(value), count=count)] if len(value) > count else []


def choice(name: str, value: str, allowed: tuple[str, ...], model: str = "") -> list[str]:
    """`value` is one of `allowed` (those `model` takes, where it is named)."""
    if value in allowed:
        return []
    who = f" by {model}" if model else ""
    if not allowed:
        return [f"{name}: not accepted{who}; leave it out"]
    return [f"{name}: {show(value)} is not accepted{who}; use one of {', '.join(allowed)}"]


def grouped(catalog: Catalog, values_of: Callable[[ModelSpec], Sequence[str]]) -> str:
    """Each model's values, stated once: `all take V` for values every taker shares, then groups of models with
    the same further values, then who must leave the argument out."""
    takers = [spec for spec in catalog.models if values_of(spec)]
    common = [v for v in values_of(takers[0]) if all(v in values_of(s) for s in takers)] if takers else []
    extras: dict[tuple[str, ...], list[str]] = {}
    for spec in takers:
        extras.setdefault(tuple(v for v in values_of(spec) if v not in common), []).append(spec.id)
    everyone = len(takers) == len(catalog.models)
    parts = [f"{'all' if everyone else names(catalog, [s.id for s in takers])} take {', '.join(common)}"] * bool(common)
    parts += [
        f"{names(catalog, ids)}{' also' * bool(common)}: {', '.join(more)}" for more, ids in extras.items() if more
    ]
    if not everyone:
        parts.append(f"leave it out for {names(catalog, [i for i in catalog.ids if i not in {s.id for s in takers}])}")
    return "; ".join(parts)


def names(catalog: Catalog, ids: Sequence[str]) -> str:
    """The ids, with every version of one model name written `Name-*` when there are several."""
    parts: list[str] = []
    for spec in catalog.models:
        family = [s.id for s in catalog.models if s.model_name == spec.model_name]
        if spec.id not in ids:
            continue
        if len(family) > 1 and all(i in ids for i in family):
            parts += [f"{spec.model_name}-*"] if f"{spec.model_name}-*" not in parts else []
        else:
            parts.append(spec.id)
    return ", ".join(parts) if parts else "none"


def show(value: Any) -> str:
    """`value` as JSON, cut to 60 characters, for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # an int past Python's 4300 digits, a list nested past its stack
        return f"an unreadably large {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def strings(value: Any) -> list[str] | None:
    """`value` as a list of strings, or None when it is not one."""
    items = cast(list[Any], value) if isinstance(value, list) else None
    return None if items is None or not all(isinstance(item, str) for item in items) else items
