"""The `kubernetes` probe: a condition or field test on one object, or on every object a selector finds."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kubevigil.kube.errors import REQUEST_ERRORS, ApiError, describe
from kubevigil.kube.resources import Resource
from kubevigil.roles.checks.probes.fieldpath import FieldTest, Step
from kubevigil.roles.checks.probes.probe import Attempt, CheckFailed, Outcome, ProbeEnv, ProbeSpec

_CONDITION = re.compile(r"^([A-Za-z0-9_.-]+)(?:=(True|False|Unknown))?$")


class KubernetesProbe(ProbeSpec):
    """Find objects by apiVersion/kind and name or label selector; pass when `objects` of them satisfy the test."""

    api_version: str = Field(min_length=1, description="apiVersion of the objects, e.g. apps/v1")
    kind: str = Field(min_length=1, description="Kind, e.g. Deployment")
    namespace: str | None = Field(None, description="Namespace; absent: cluster-scoped, or every namespace for a list")
    name: str | None = Field(None, description="One object by name (instead of `selector`)")
    selector: str | None = Field(None, description="Label selector, e.g. app=web,tier!=cache; absent: every object")
    condition: str | None = Field(None, description="Condition type and status: Available (=True) or Ready=False")
    field: FieldTest | None = Field(None, description="A field test: {path, op, value}")
    objects: Literal["all", "any", "none"] = Field(
        "all", description="How many found objects must satisfy the test: all, any, or none of them")
    min_objects: int | None = Field(
        None, ge=0, description="Fail when fewer objects are found; default 1 (0 when `objects` is none)")

    @field_validator("condition")
    @classmethod
    def _condition_valid(cls, value: str | None) -> str | None:
        if value is not None and not _CONDITION.match(value):
            raise ValueError(f"{value!r} is not Type or Type=True|False|Unknown")
        return value

    @field_validator("selector")
    @classmethod
    def _selector_valid(cls, value: str | None) -> str | None:
        if value is not None:
            from kubevigil.kube.selectors import parse_label_selector

            parse_label_selector(value)
        return value

    @model_validator(mode="after")
    def _one_of_each(self) -> KubernetesProbe:
        if self.name is not None and self.selector is not None:
            raise ValueError("give name or selector, not both")
        if self.condition is not None and self.field is not None:
            raise ValueError("give condition or field, not both")
        return self

    @cached_property
    def _steps(self) -> tuple[Step, ...]:
        return self.field.steps() if self.field is not None else ()

    @cached_property
    def _wanted(self) -> tuple[str, str]:
        type_, _, status = (self.condition or "").partition("=")
        return type_, status or "True"

    def target(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        if self.name is not None:
            return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"
        return f"{self.kind} objects{' matching ' + self.selector if self.selector else ''}{where}"

    async def check(self, env: ProbeEnv, attempt: Attempt) -> Outcome:
        try:
            attempt.doing = "in API discovery"
            try:
                res = await env.api.resource_for(self.api_version, self.kind)
            except KeyError:
                raise CheckFailed(f"kubernetes: {self.api_version} {self.kind} is not served by the API server") from None
            attempt.doing = "reading from the API server"
            found = await self._find(env, res)
        except REQUEST_ERRORS as exc:
            raise CheckFailed(f"kubernetes: cannot reach the API server ({describe(exc)})") from None
        return self._judge(found)

    async def _find(self, env: ProbeEnv, res: Resource) -> list[dict[str, Any]]:
        namespace = self.namespace if res.namespaced else None
        if self.name is None:
            items, _ = await env.api.list(res, namespace, label_selector=self.selector)
            return items
        if res.namespaced and not namespace:
            raise CheckFailed(f"config: a namespaced {self.kind} needs `namespace` to be found by name")
        try:
            return [await env.api.get(res, namespace, self.name)]
        except ApiError as exc:
            if exc.status == 404:
                return []
            raise

    def _judge(self, found: list[dict[str, Any]]) -> Outcome:
        verdicts = [(obj, self._holds(obj)) for obj in found]
        holding = [obj for obj, holds in verdicts if holds]
        failing = [obj for obj, holds in verdicts if not holds]
        values = {"objects": float(len(found)), "matching": float(len(holding))}
        least = self.min_objects if self.min_objects is not None else (0 if self.objects == "none" else 1)
        if len(found) < least:
            what = "not found" if self.name is not None else f"found {len(found)}, expected at least {least}"
            return Outcome(False, f"mismatch: {what}", values)
        test = self._test_text()
        if self.objects == "all" and failing:
            return Outcome(False, f"mismatch: {self._which(failing, found)}{self._why(failing[0])}", values)
        if self.objects == "any" and not holding:
            return Outcome(False, f"mismatch: none of {len(found)} has {test}", values)
        if self.objects == "none" and holding:
            return Outcome(False, f"mismatch: {self._which(holding, found)}has {test}", values)
        if self.condition is None and self.field is None:
            return Outcome(True, "exists" if self.name is not None else f"found {len(found)}", values)
        if self.name is not None:
            return Outcome(True, f"has {test}" if holding else f"has not {test}", values)
        return Outcome(True, f"{len(holding)} of {len(found)} have {test}", values)

    def _holds(self, obj: dict[str, Any]) -> bool:
        if self.field is not None:
            return self.field.holds(obj, self._steps)
        if self.condition is not None:
            found = _condition(obj, self._wanted[0])
            return found is not None and found.get("status") == self._wanted[1]
        return True

    def _why(self, obj: dict[str, Any]) -> str:
        if self.field is not None:
            return self.field.explain(obj, self._steps)
        type_, status = self._wanted
        found = _condition(obj, type_)
        if found is None:
            return f"has no condition {type_}, expected {type_}={status}"
        detail = ": ".join(str(found[k]) for k in ("reason", "message") if found.get(k))
        return f"condition {type_} is {found.get('status')}, expected {status}" + (f" ({detail})" if detail else "")

    def _test_text(self) -> str:
        if self.field is not None:
            return str(self.field)
        if self.condition is not None:
            return "condition " + "=".join(self._wanted)
        return "existence"

    def _which(self, some: list[dict[str, Any]], found: list[dict[str, Any]]) -> str:
        """`shop/web-1 (2 of 5): ` naming the first of `some` in a list; empty for a named object (the target names it)."""
        if self.name is not None:
            return ""
        meta = some[0].get("metadata") or {}
        name = f"{meta['namespace']}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name"))
        return f"{name} ({len(some)} of {len(found)}): "


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None
