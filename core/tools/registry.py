"""The tool registry: typed async functions whose name, docstring and argument model become the schema.

    class LookupArgs(BaseModel):
        order_id: str = Field(description="The order number")

    @registry.tool()
    async def lookup_order(args: LookupArgs, ctx: ToolContext) -> ToolOutput:
        \"\"\"Look up an order's delivery status.\"\"\"

`acting=True` marks a tool with side effects (creating, sending, changing): it is proposed to the user
and runs only after the same user confirms. `confirm_key` names the text in core/texts/ shown on the
proposal (formatted with the arguments); the default is the generic `tool_confirm`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError

from core.tools.context import ToolContext, ToolOutput

ToolFunction = Callable[[Any, ToolContext], Awaitable[ToolOutput]]


class ArgumentsError(ValueError):
    """The model's arguments are not valid JSON or do not match the tool's model (text is for the model)."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args_model: type[BaseModel]
    function: ToolFunction
    acting: bool = False
    confirm_key: str = "tool_confirm"
    timeout_s: float | None = None
    progress_key: str = "tool_running"  # the text in core/texts/ for its progress step ("calling the ticket system")

    @classmethod
    def from_function(cls, fn: ToolFunction, *, acting: bool = False, confirm_key: str = "tool_confirm",
                      timeout_s: float | None = None, name: str | None = None,
                      progress_key: str = "tool_running") -> Tool:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"tool {fn.__name__!r} must be an async function")
        params = list(inspect.signature(fn).parameters)
        if len(params) != 2:
            raise TypeError(f"tool {fn.__name__!r} must take (args: <pydantic model>, ctx: ToolContext)")
        hints = get_type_hints(fn)
        model = hints.get(params[0])
        if not (inspect.isclass(model) and issubclass(model, BaseModel)):
            raise TypeError(f"tool {fn.__name__!r}: the first parameter must be annotated with a pydantic model")
        description = inspect.cleandoc(fn.__doc__ or "").strip()
        if not description:
            raise TypeError(f"tool {fn.__name__!r} needs a docstring: it is the description the model sees")
        return cls(name=name or fn.__name__, description=description, args_model=model, function=fn,
                   acting=acting, confirm_key=confirm_key, timeout_s=timeout_s, progress_key=progress_key)

    @functools.cached_property
    def _parameters(self) -> dict[str, Any]:
        schema = self.args_model.model_json_schema()  # ~1 ms per tool: built once, not per message
        schema.pop("title", None)
        return schema

    def spec(self) -> dict[str, Any]:
        """The OpenAI/litellm function-calling schema (a fresh copy: callers may change it)."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description,
                             "parameters": copy.deepcopy(self._parameters)}}

    def parse(self, arguments_json: str) -> dict[str, Any]:
        """The raw arguments as a dict (still masked); ArgumentsError when not a JSON object."""
        try:
            raw = json.loads(arguments_json or "{}")
        except json.JSONDecodeError as exc:
            raise ArgumentsError(f"arguments are not valid JSON ({exc.msg} at position {exc.pos})") from None
        if not isinstance(raw, dict):
            raise ArgumentsError("arguments must be a JSON object")
        return raw

    def validate(self, raw: dict[str, Any]) -> BaseModel:
        try:
            return self.args_model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}"
                for err in exc.errors(include_url=False, include_input=False)
            )
            raise ArgumentsError(f"invalid arguments: {problems}") from None


@dataclass
class ToolRegistry:
    """One registry for the whole process; bot profiles allow-list names from it."""

    tools: dict[str, Tool] = field(default_factory=dict)

    def add(self, tool: Tool) -> Tool:
        if tool.name in self.tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self.tools[tool.name] = tool
        return tool

    def tool(self, *, acting: bool = False, confirm_key: str = "tool_confirm", timeout_s: float | None = None,
             name: str | None = None, progress_key: str = "tool_running") -> Callable[[ToolFunction], ToolFunction]:
        """Decorator: register an async function as a tool."""

        def register(fn: ToolFunction) -> ToolFunction:
            self.add(Tool.from_function(fn, acting=acting, confirm_key=confirm_key, timeout_s=timeout_s, name=name,
                                        progress_key=progress_key))
            return fn

        return register

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self.tools)

    def feature_names(self) -> list[str]:
        """Per-tool feature flags admins can toggle: `tools.<name>`."""
        return [f"tools.{name}" for name in self.names]

    def specs(self, names: Iterable[str]) -> list[dict[str, Any]]:
        return [self.tools[n].spec() for n in names if n in self.tools]
