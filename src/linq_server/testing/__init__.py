"""The pytest plugin of linq-server (``pytest11`` entry point): a real sandbox for every test.

* ``linq_server`` (session): a ``linq-server`` process on a free port with its own SQLite file and a
  manual clock, or the server at ``--linq-url`` / ``LINQ_SERVER_URL`` (with ``LINQ_SERVER_ADMIN_KEY``).
  Under pytest-xdist each worker starts its own.
* ``linq`` (function): a fresh partner, with ``base_url``, ``api_key``, ``lines``, ``client`` (linq-python,
  strict, when installed), ``webhooks`` (a receiver subscribed to every event that checks every signature:
  ``received``, ``wait_for(event_type, timeout=5, where=...)``, ``respond(status)``), ``clock.advance``,
  ``faults``, ``phone(handle)`` and ``reset()``.

A failing test that used ``linq`` gets a report section listing its sandbox's webhook deliveries.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

import pytest

from linq_server.testing.receiver import ReceivedWebhook, WebhookReceiver
from linq_server.testing.sandbox import LinqSandbox, LinqServer, SandboxError
from linq_server.testing.server import LinqServerProcess

__all__ = ["LinqSandbox", "LinqServer", "ReceivedWebhook", "SandboxError", "WebhookReceiver"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("linq-server")
    group.addoption(
        "--linq-url",
        default=None,
        help="Use the linq-server at this URL (e.g. http://127.0.0.1:8787) instead of starting one; "
        "its LINQ_SERVER_ADMIN_KEY must be in the environment. Default: $LINQ_SERVER_URL.",
    )


@pytest.fixture(scope="session")
def linq_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinqServer]:
    """The server every ``linq`` sandbox of this session (or xdist worker) lives on."""
    url = request.config.getoption("--linq-url") or os.environ.get("LINQ_SERVER_URL")
    if url:
        admin_key = os.environ.get("LINQ_SERVER_ADMIN_KEY")
        if not admin_key:
            raise pytest.UsageError("--linq-url needs LINQ_SERVER_ADMIN_KEY, the server's admin key")
        yield LinqServer(url.rstrip("/"), admin_key)
        return
    process = LinqServerProcess(tmp_path_factory.mktemp("linq-server")).start()
    try:
        yield LinqServer(process.url, process.admin_key)
    finally:
        process.stop()


@pytest.fixture
def linq(linq_server: LinqServer) -> Iterator[LinqSandbox]:
    """A sandbox of this test's own: a fresh partner that no other test sees."""
    sandbox = linq_server.new_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    sandbox = getattr(item, "funcargs", {}).get("linq")
    if report.failed and call.when == "call" and isinstance(sandbox, LinqSandbox):
        try:
            text = sandbox.describe_deliveries()
        except Exception as error:  # the report must not hide the test's own failure
            text = f"could not list the deliveries: {error!r}"
        report.sections.append(("linq-server webhook deliveries", text))
    return report
