"""A Jinja sandbox that cannot exhaust the machine it renders on.

Jinja's own sandbox keeps a template away from Python, not away from the CPU and the
memory: ``{{ 9 ** (9 ** 8) }}`` is folded to a constant while the template compiles (so
merely saving such a field hung every web worker), ``{{ 'A' * 400000000 }}`` allocates
gigabytes and nested loops run for as long as they like. Here:

- nothing is folded at compile time (no optimizer, and a finalize that needs the
  context, so Jinja keeps even constant output for the render);
- every arithmetic operator is intercepted and checked before it runs: repeating or
  joining text may not pass MAX_RENDERED_BYTES, a list not ``MAX_ITEMS`` items, a
  number not ``MAX_INT_BITS`` bits;
- the filters that repeat text or build lists check their arguments first, and every
  filter's result is checked;
- every list, tuple and dict a template writes out is measured as it would print
  (a part it holds twice counts twice), so no value can print larger than the cap;
- every buffer a template writes into (``{% set %}`` and ``{% filter %}`` blocks) and
  ``~`` joins count against MAX_RENDERED_BYTES, and the caller streams the output
  through ``bounded_render``, which counts it too;
- loops, operators, filters and output check a deadline: MAX_RENDER_SECONDS, or the
  run's own deadline when that comes first.

A refusal raises ``RenderRefused`` with a message meant for the person who wrote the
field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment

from automations.engine.sandbox.extras import EXTRA_FILTERS
from automations.engine.sandbox.filters import (
    FILTER_CHECKS,
    LEFT_OUT_FILTERS,
    bounded_dumps,
    bounded_filter,
)
from automations.engine.sandbox.limits import (
    Buffer,
    RenderRefused,
    RunOutOfTime,
    bounded_concat,
    bounded_iter,
    bounded_render,
    check_binop,
    check_value,
    render_budget,
    tick,
)

__all__ = [
    "BoundedSandbox",
    "RenderRefused",
    "RunOutOfTime",
    "bounded_render",
    "fold_check",
    "render_budget",
]

# Every loop's iterable passes through this filter; no template can name it (a filter
# name is one word).
_LOOP_FILTER = "bounded loop"


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, writing through the environment's bounded helpers."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _built(self, visit: Callable[..., None], node: nodes.Expr, frame: Frame) -> None:
        self.write("environment.built(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._built(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._built(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "load":
            self._built(super().visit_Tuple, node, frame)
        else:
            super().visit_Tuple(node, frame)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose renders are bounded in size and time. Render with
    ``bounded_render(template.generate(data))`` inside ``render_budget()``."""

    code_generator_class = _BoundedCodeGenerator
    # An intercepted operator is also never folded at compile time.
    intercepted_binops = frozenset({"**", "*", "+", "-", "/", "//", "%"})
    output_buffer = Buffer

    def __init__(self, *, finalize: Callable[[Any], Any], **options: Any) -> None:
        @pass_eval_context
        def bounded_finalize(eval_ctx: Any, value: Any) -> Any:
            # Needing the context keeps Jinja from finalizing constant output while it
            # compiles.
            return check_value(finalize(value))

        super().__init__(finalize=bounded_finalize, optimized=False, **options)
        self.globals.clear()
        # Ours replace Jinja's of the same name (unique: objects compare by content).
        self.filters = {
            name: bounded_filter(func, FILTER_CHECKS.get(name))
            for name, func in {**self.filters, **EXTRA_FILTERS}.items()
            if name not in LEFT_OUT_FILTERS
        }
        self.filters[_LOOP_FILTER] = bounded_iter
        self.policies["json.dumps_function"] = bounded_dumps

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Jinja allows no node types of our own, so loops are bounded in the tree.
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(
                loop.iter, _LOOP_FILTER, [], [], None, None, lineno=loop.lineno
            )
        return tree

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        tick()
        check_binop(operator, left, right)
        return check_value(self.binop_table[operator](left, right))

    @staticmethod
    def concat(parts: Iterable[Any]) -> str:
        return bounded_concat(parts)

    @staticmethod
    def built(value: Any) -> Any:
        """A list, tuple or dict a template wrote out."""
        tick()
        return check_value(value)


def fold_check(environment: BoundedSandbox, tree: nodes.Template) -> None:
    """Evaluate the constant parts of a parsed template with the bounded operators, so
    that an obvious overflow such as ``9 ** (9 ** 8)`` is refused when the field is
    saved rather than when it first runs. Raises RenderRefused."""
    with render_budget():
        for node in tree.body:
            _fold(environment, node)


_NOT_CONSTANT = object()
_FOLDABLE = (nodes.BinExpr, nodes.List, nodes.Tuple, nodes.Concat, nodes.Filter)


def _fold(environment: BoundedSandbox, node: nodes.Node) -> Any:
    """The constant value of ``node``, or _NOT_CONSTANT; each node is visited once."""
    if isinstance(node, nodes.Const):
        return node.value
    if not isinstance(node, _FOLDABLE):
        for child in node.iter_child_nodes():
            _fold(environment, child)
        return _NOT_CONSTANT
    children = [_fold(environment, child) for child in node.iter_child_nodes()]
    if any(value is _NOT_CONSTANT for value in children):
        return _NOT_CONSTANT
    try:
        if isinstance(node, nodes.BinExpr) and node.operator in environment.intercepted_binops:
            return environment.call_binop(None, node.operator, *children)
        if isinstance(node, nodes.List):
            return check_value(children)
        if isinstance(node, nodes.Tuple) and node.ctx == "load":
            return check_value(tuple(children))
        if isinstance(node, nodes.Concat):
            return bounded_concat(children)
        if isinstance(node, nodes.Filter) and node.node is not None and node.dyn_args is None:
            # Keyword arguments are not folded, so the children are the value and args.
            value, *args = children
            return environment.call_filter(node.name, value, args)
    except RenderRefused:
        raise
    except Exception:
        # Anything else (1 / 0, a filter that needs the render's context) is for the
        # render to report.
        return _NOT_CONSTANT
    return _NOT_CONSTANT
