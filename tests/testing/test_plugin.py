"""The pytest plugin, run by pytester as a user's suite would run it."""

from __future__ import annotations

import pytest

from linq_server.testing import LinqServer

pytest_plugins = ("pytester",)

USER_TESTS = """
import pytest

ALICE, BOB, CAROL = "+14155550101", "+14155550102", "+14155550103"
HI = {"parts": [{"type": "text", "value": "hi"}]}


def test_a_member_leaves(linq):
    chat = linq.client.chats.create(from_=linq.lines[0], to=[ALICE, BOB, CAROL], message=HI).chat
    assert linq.webhooks.wait_for("chat.created").data["id"] == chat.id
    linq.phone(BOB).leave(chat.id)
    removed = linq.webhooks.wait_for("participant.removed")
    assert removed.data["handle"] == BOB and linq.webhooks.rejected == []


def test_every_test_has_a_partner_of_its_own(linq, linq_server):
    other = linq_server.new_sandbox()
    try:
        assert other.partner_id != linq.partner_id and not set(other.lines) & set(linq.lines)
    finally:
        other.close()


def test_the_clock_is_manual(linq):
    before = linq.clock.now()
    assert linq.clock.advance(3600) > before


def test_that_fails(linq):
    linq.client.chats.create(from_=linq.lines[0], to=[ALICE], message=HI)
    linq.webhooks.wait_for("chat.created")
    assert False, "on purpose"
"""


def test_a_users_suite_gets_a_server_sandboxes_and_failure_reports(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*linq-server webhook deliveries*", "*chat.created*[[]delivered; attempts: 200[]]*"])
    assert "on purpose" in result.stdout.str()


def test_an_existing_server_is_used_with_linq_url(
    pytester: pytest.Pytester, linq_server: LinqServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINQ_SERVER_ADMIN_KEY", linq_server.admin_key)
    pytester.makepyfile(
        test_remote=f'''
def test_remote(linq, linq_server):
    assert linq_server.url == "{linq_server.url}"
    assert linq.base_url == "{linq_server.url}/api/partner"
    assert linq.client.phone_numbers.list().phone_numbers[0].phone_number == linq.lines[0]
'''
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--linq-url={linq_server.url}")
    result.assert_outcomes(passed=1)


def test_linq_url_without_the_admin_key_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINQ_SERVER_ADMIN_KEY", raising=False)
    pytester.makepyfile(test_remote="def test_remote(linq):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--linq-url=http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    assert "LINQ_SERVER_ADMIN_KEY" in result.stdout.str()


def test_each_xdist_worker_runs_its_own_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_parallel="""
import pytest

@pytest.mark.parametrize("n", range(4))
def test_parallel(linq, n):
    chat = linq.client.chats.create(
        from_=linq.lines[0], to=[f"+1415555030{n}"], message={"parts": [{"type": "text", "value": "hi"}]}
    ).chat
    assert linq.webhooks.wait_for("chat.created").data["id"] == chat.id
    assert [c.id for c in linq.client.chats.list_chats().chats] == [chat.id]
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=4)
