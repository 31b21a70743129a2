"""Remove what a check is judged against from a check cell, before student code sees it.

A check call is ``<receiver>.<kind>(what, answer, **judged_against)`` with
``kind`` in ``utils.checks.CHECK_KINDS``. The grader runs check cells with the
keyword arguments removed, so expected values, bounds and mistakes are never
computed in the student's process; the answers are judged outside it.
"""

from __future__ import annotations

import ast

from utils.checks import CHECK_KINDS


def _check_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CHECK_KINDS:
            yield node


class _StripKeywords(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute) and node.func.attr in CHECK_KINDS:
            node.keywords = []
        return node


def strip_expectations(source: str) -> str:
    """``source`` with every keyword argument of every check call removed."""
    tree = ast.parse(source)
    tree = ast.fix_missing_locations(_StripKeywords().visit(tree))
    return ast.unparse(tree)


def leaked_names(source: str) -> set[str]:
    """Names assigned in a check cell that only its stripped keyword arguments use.

    Such a name would hold an expected value computed in the student's
    process, where student code can read it. Authors write those
    expressions inline instead.
    """
    tree = ast.parse(source)
    in_keywords: set[str] = set()
    inside_keywords: set[int] = set()  # comprehension variables there are not assignments of the cell
    for call in _check_calls(tree):
        for keyword in call.keywords:
            for node in ast.walk(keyword.value):
                inside_keywords.add(id(node))
                if isinstance(node, ast.Name):
                    in_keywords.add(node.id)
    assigned = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Store) and id(node) not in inside_keywords}
    stripped = ast.parse(strip_expectations(source))
    still_used = {n.id for n in ast.walk(stripped) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return (assigned & in_keywords) - still_used


def check_calls_are_well_formed(source: str) -> list[str]:
    """Problems with check calls: each takes exactly two positional arguments (what, answer)."""
    problems = []
    for call in _check_calls(ast.parse(source)):
        if len(call.args) != 2:
            problems.append(f"line {call.lineno}: .{call.func.attr}() takes (what, answer) positionally "
                            f"and everything else by keyword; found {len(call.args)} positional arguments")
    return problems
