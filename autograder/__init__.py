"""The course's grading tool: ``autograder release`` and ``autograder grade`` (see ``cli``)."""

import sys

# jsonschema, which nbformat imports, builds 38 parser grammars on import when the optional
# ``rfc3987_syntax`` package is present (pulled in by the nbgrader stack): ~0.7 s per grading
# run for a URI format check that notebook validation never needs. Declare it absent.
sys.modules.setdefault("rfc3987_syntax", None)
