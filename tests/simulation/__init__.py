"""The handler's core in virtual time: whole stacks of pools against a model of the rate-limited API.

The core's modules are top-level in the Lambda asset (`lambda/`) and import each other so; pytest puts
that folder on the path (pyproject.toml), and this does the same for `python -m tests.bench`.
"""

import sys
from pathlib import Path

_HANDLER = str(Path(__file__).resolve().parents[2] / "lambda")
if _HANDLER not in sys.path:
    sys.path.append(_HANDLER)
