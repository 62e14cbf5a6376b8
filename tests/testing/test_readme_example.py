"""The README's complete user test runs as written, with the plugin, and passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_user_test() -> str:
    section = README.read_text().split("## Testing your integration with pytest", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README shows a user test"
    return match.group(1)


def test_the_readme_user_test_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_onboarding=readme_user_test())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
