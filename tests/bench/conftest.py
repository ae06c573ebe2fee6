"""The benchmark scripts live in `bench/` at the project root, which is not an installed
package: put the root on sys.path so that `pytest` finds them as well as `python -m pytest`."""

from __future__ import annotations

import sys

from tests.support import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
