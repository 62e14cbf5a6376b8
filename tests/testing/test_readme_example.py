"""The documented user test (docs/testing.md) runs as written, with the plugin, and passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

TESTING_DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def readme_user_test() -> str:
    match = re.search(r"```python\n(.*?)```", TESTING_DOC.read_text(), re.DOTALL)
    assert match, "docs/testing.md shows a user test"
    return match.group(1)


def test_the_readme_user_test_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_onboarding=readme_user_test())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
