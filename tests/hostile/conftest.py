"""The hostile-input suite reuses the UI suite's signed-in browsers and cheap password hashes.

`sqlite_only` marks tests whose subject does not depend on the database (parsing, headers,
routing): they run once instead of once per backend, to keep the suite fast.
"""

import pytest

from tests.ui.conftest import Browser, browser, quick_hashes, users  # noqa: F401  (fixtures)

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
