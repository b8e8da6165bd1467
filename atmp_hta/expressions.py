"""Arithmetic expressions over named parameters, as written in parameter files.

A value in a parameter file may be a number, a parameter name (``u_cure``), a component of a Dirichlet
parameter (``response.cure``) or an arithmetic expression of them (``life_expectancy - durability``).
Only numbers, names, ``+ - * / **``, unary minus, parentheses and ``min``/``max``/``exp``/``log`` are
allowed: expressions are parsed with :mod:`ast`, never ``eval``-ed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Expression", "parse_expression"]

_FUNCTIONS = {"min": np.minimum, "max": np.maximum, "exp": np.exp, "log": np.log}
_BINOPS = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}


class ExpressionError(ValueError):
    pass


def _name_of(node) -> str:
    """``a.b`` (a Dirichlet component) or ``a``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    raise ExpressionError("only names like 'p' or 'p.component' may be referenced")


def _check(node, names: set):
    if isinstance(node, ast.Expression):
        return _check(node.body, names)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(
        node.value, bool
    ):
        return
    if isinstance(node, ast.Name | ast.Attribute):
        names.add(_name_of(node))
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _check(node.left, names)
        _check(node.right, names)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand, names)
        return
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and node.args
    ):
        for arg in node.args:
            _check(arg, names)
        return
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed")


@dataclass(frozen=True)
class Expression:
    """A parsed value: a constant, a reference or an arithmetic expression."""

    text: str

    @cached_property
    def _tree(self):
        return ast.parse(self.text, mode="eval")

    @cached_property
    def names(self) -> frozenset:
        found: set = set()
        _check(self._tree, found)
        return frozenset(found)

    @property
    def constant(self) -> float | None:
        """The value if the expression is a plain number, else None."""
        body = self._tree.body
        if isinstance(body, ast.Constant):
            return float(body.value)
        if isinstance(body, ast.UnaryOp) and isinstance(body.operand, ast.Constant):
            value = float(body.operand.value)
            return -value if isinstance(body.op, ast.USub) else value
        return None

    def evaluate(self, values: dict):
        """Evaluate with ``values`` mapping names to floats or arrays (broadcasting)."""
        return _eval(self._tree.body, values)


def _eval(node, values):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name | ast.Attribute):
        return values[_name_of(node)]
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        func = _FUNCTIONS[node.func.id]
        args = [_eval(a, values) for a in node.args]
        if func in (np.minimum, np.maximum):
            out = args[0]
            for a in args[1:]:
                out = func(out, a)
            return out
        return func(*args)
    raise ExpressionError(f"cannot evaluate {ast.dump(node)}")  # pragma: no cover - parse checks first


def parse_expression(value) -> Expression:
    """Parse a number or a string into an :class:`Expression`, raising ``ValueError`` with the reason.

    Examples
    --------
    >>> e = parse_expression("max(le - dur, 0)")
    >>> sorted(e.names)
    ['dur', 'le']
    >>> float(e.evaluate({"le": 10.0, "dur": 3.0}))
    7.0
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, a parameter name or an expression, got {value!r}")
    if isinstance(value, int | float):
        return Expression(repr(float(value)))
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a number, a parameter name or an expression, got {value!r}")
    try:
        expr = Expression(value.strip())
        expr.names  # noqa: B018 - parse and check now
    except SyntaxError:
        raise ValueError(f"'{value}' is not a valid expression") from None
    except ExpressionError as exc:
        raise ValueError(f"in '{value}': {exc}") from None
    return expr
