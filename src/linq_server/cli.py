"""The command line: serve, worker, migrate, seed, partners."""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import logging
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel

# The application is imported inside each command, not here: `linq-server --help` then answers without
# loading FastAPI, SQLAlchemy and the rest (startup times in docs/benchmarks.md).
if TYPE_CHECKING:
    from linq_server.config import Settings
    from linq_server.domain import partners
    from linq_server.seed import Seeded
    from linq_server.store.partners import Partner, PhoneLine

app = typer.Typer(help="linq-server: the Linq Partner API v3, self-hosted.", no_args_is_help=True)
partners_app = typer.Typer(help="Manage partners (API accounts).", no_args_is_help=True)
app.add_typer(partners_app, name="partners")
console = Console()


def _sandbox_key(settings: Settings) -> str:
    """The configured key, or one made once and kept (owner-only) in the data folder."""
    from linq_server.config import kept_secret
    from linq_server.domain import partners

    return settings.api_key or kept_secret(Path(settings.data_dir) / "sandbox-api-key", partners.generate_api_key)


async def _ensure_sandbox(settings: Settings) -> partners.NewPartner:
    from sqlalchemy.exc import IntegrityError

    from linq_server.domain import partners
    from linq_server.store.database import Database

    db = Database(settings.database_url)
    key = _sandbox_key(settings)
    try:
        try:
            return await partners.ensure_partner(db, partners.SANDBOX_PARTNER_NAME, settings.sandbox_phone_numbers, key)
        except IntegrityError:
            # Another server starting at the same moment made the same partner, key or line first;
            # ensuring is idempotent, so a second pass finds them.
            return await partners.ensure_partner(db, partners.SANDBOX_PARTNER_NAME, settings.sandbox_phone_numbers, key)
    finally:
        await db.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    worker: Annotated[bool, typer.Option(help="Also run a job worker in this process.")] = True,
    fd: Annotated[
        int | None, typer.Option(help="Serve on this inherited, already-bound socket (host and port are ignored).")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes on the port, the first also running the job worker (PostgreSQL).")
    ] = 1,
) -> None:
    """Migrate the database, make sure the sandbox partner exists, and serve the API (and a worker)."""
    from linq_server.config import Settings
    from linq_server.processes import become_supervisor

    # An inherited socket lets whoever started us bind port 0 and know the port (the pytest plugin does).
    settings = Settings()
    if workers > 1:
        _check_several_processes(settings)
    # Bound before anything is printed: a port in use is one line and exit 1, never a "ready" panel.
    listening = socket.socket(fileno=fd) if fd is not None else _listen(host, port)
    host, port = listening.getsockname()[:2]
    settings.public_url = _public_url(settings, host, port)
    _configure_logging(settings)
    _migrate(settings.database_url)
    sandbox = asyncio.run(_ensure_sandbox(settings))
    if settings.seed:
        _report_seeding(settings, settings.seed)
    _print_ready(settings.public_url, sandbox)
    if workers > 1:
        become_supervisor(listening, workers, job_worker=worker, log_level=settings.log_level)
    _serve_api(settings, worker, host, port, listening)


def _migrate(url: str) -> None:
    """Bring the database to the newest schema; a URL that cannot work, or a database out of reach, is one line
    and exit 2 (nothing created)."""
    from linq_server.store.availability import is_unavailable
    from linq_server.store.database import unreachable, url_problem
    from linq_server.store.migrate import migrate as run_migrations

    problem = url_problem(url)
    if problem is None:
        try:
            run_migrations(url)
            return
        except Exception as error:
            if not is_unavailable(error):
                raise
            problem = unreachable(url, error)
    console.print(f"[red]LINQ_SERVER_DATABASE_URL:[/] {problem}", soft_wrap=True)
    raise typer.Exit(2)


def _listen(host: str, port: int) -> socket.socket:
    from linq_server.processes import listening_socket

    try:
        return listening_socket(host, port)
    except OSError as error:
        reason = "the port is in use (another linq-server?); pick another with --port"
        said = reason if error.errno == errno.EADDRINUSE else error
        console.print(f"[red]cannot listen on {host}:{port}:[/] {said}", soft_wrap=True)
        raise typer.Exit(1) from None


def _print_ready(public_url: str, sandbox: partners.NewPartner) -> None:
    """The panel a newcomer reads, then the lines to paste into a shell (outside the panel's frame)."""

    base_url = f"{public_url}/api/partner"
    lines = "\n".join(f"  {line.phone_number}" for line in sandbox.lines)
    console.print(
        Panel(
            f"[bold]Base URL[/]   {base_url}\n[bold]API key[/]    {sandbox.api_key}\n[bold]Lines[/]\n{lines}\n"
            f"[bold]Inspector[/]  {public_url}/inspector  (sign in with the API key)\n"
            f"[bold]API docs[/]   {public_url}/docs",
            title="linq-server is ready",
            expand=False,
        ),
        soft_wrap=True,
    )
    cli = "\n".join(f"export {line}" for line in linq_cli_environment(public_url).splitlines())
    console.print(
        f"# For linq-python, paste into your shell:\nexport LINQ_API_V3_BASE_URL={base_url}\n"
        f"export LINQ_API_V3_API_KEY={sandbox.api_key}\n# For the Linq CLI (then: linq login --token KEY):\n{cli}",
        soft_wrap=True, markup=False, highlight=False,
    )  # fmt: skip


def _public_url(settings: Settings, host: str, port: int) -> str:
    """Where clients reach this server: the configured URL, else the address served."""
    return (settings.public_url or f"http://{host}:{port}").rstrip("/")


def _check_several_processes(settings: Settings) -> None:
    """``--workers`` needs what several processes can share: PostgreSQL (it wakes another process's job worker
    at once, where SQLite's would find new jobs only at its next poll, a second later), and real time."""
    from linq_server.store.database import is_sqlite

    if is_sqlite(settings.database_url):
        console.print("[red]--workers needs PostgreSQL:[/] on SQLite, run one process (the default)")
        raise typer.Exit(2)
    if settings.clock == "manual":
        # Each process would hold its own manual clock, and calls land on either.
        console.print("[red]--workers needs real time:[/] a manual clock (LINQ_SERVER_CLOCK=manual) is one process's")
        raise typer.Exit(2)


@app.command("api-process", hidden=True)
def api_process(
    fd: Annotated[int, typer.Option(help="The inherited listening socket.")],
    worker: Annotated[bool, typer.Option(help="Also run a job worker in this process.")] = True,
) -> None:
    """One of ``serve --workers N``'s processes: its parent migrated, made the sandbox partner and printed."""
    from linq_server.config import Settings
    from linq_server.processes import end_with_parent

    end_with_parent()
    inherited = socket.socket(fileno=fd)
    host, port = inherited.getsockname()[:2]
    settings = Settings()
    settings.public_url = _public_url(settings, host, port)
    _configure_logging(settings)
    _serve_api(settings, worker, host, port, inherited)


def _serve_api(settings: Settings, worker: bool, host: str, port: int, inherited: socket.socket | None) -> None:
    import uvicorn

    from linq_server.app import create_app

    api = create_app(settings, run_worker=worker)
    config = uvicorn.Config(api, host=host, port=port, log_level=settings.log_level.lower())
    settle_garbage_collector()
    uvicorn.Server(config).run(sockets=[inherited] if inherited is not None else None)
    if getattr(api.state, "worker_failed", False):
        raise typer.Exit(1)  # the job worker ended: the CRITICAL line above says why


@app.command("worker")
def worker_command(
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once (default: settings).")] = None,
) -> None:
    """Run job workers only (no API); several such processes may share one PostgreSQL database."""
    from linq_server.config import Settings
    from linq_server.services import build_services
    from linq_server.workers import build_worker

    settings = Settings()
    _configure_logging(settings)
    _migrate(settings.database_url)

    async def run() -> None:
        services = build_services(settings)
        worker = build_worker(services, concurrency)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        console.print(f"worker {worker.id} running ({worker.concurrency} at once)")
        settle_garbage_collector()
        try:
            await worker.run()
        finally:
            await services.close()

    asyncio.run(run())


def settle_garbage_collector() -> None:
    """Leave what startup made (modules, table metadata, caches: never garbage) out of the cycle collector's
    passes, and run it less often. Under load it took 7 % of the CPU, and its full passes made the slowest
    requests (benchmarks/messages.py: p99 of sends 160-210 ms with the defaults, 100-135 ms with this).
    Memory is still freed at once by reference counting; only cycles wait a little longer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


def linq_cli_environment(public_url: str) -> str:
    """The variables that point the Linq CLI at this server: API, relay (``webhooks listen``) and logs."""
    ws_url = "ws" + public_url.removeprefix("http")  # http → ws, https → wss
    return (
        f"LINQ_API_URL={public_url}/api/partner\nLINQ_RELAY_WS_URL={ws_url}/relay-ws\n"
        f"LINQ_RELAY_URL={public_url}\nLINQ_LOGS_URL={public_url}/api"
    )


async def _apply_seed(settings: Settings, path: Path) -> list[Seeded]:
    from linq_server.seed import apply_seed, load_seed
    from linq_server.services import build_services

    services = build_services(settings)
    try:
        return await apply_seed(services, load_seed(path))
    finally:
        await services.close()


def _report_seeding(settings: Settings, path: Path) -> None:
    from linq_server.domain.errors import LinqError

    try:
        done = asyncio.run(_apply_seed(settings, path))
    except (ValueError, LinqError) as error:
        console.print(f"[red]seeding failed:[/] {error.message if isinstance(error, LinqError) else error}")
        raise typer.Exit(1) from error
    for partner in done:
        typer.echo(json.dumps({"partner": partner.name, "partner_id": partner.partner_id, "created": partner.created}))


@app.command()
def seed(file: Annotated[Path, typer.Argument(help="A YAML seed file.", exists=True, dir_okay=False)]) -> None:
    """Create the partners, lines, handles, chats and webhook subscriptions a YAML file describes (idempotent)."""
    from linq_server.config import Settings

    settings = Settings()
    _migrate(settings.database_url)
    _report_seeding(settings, file)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic, loaded only when a database needs migrating, says at INFO which of its plugins it set up.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic upgrade to head)."""
    from linq_server.config import Settings

    settings = Settings()
    _migrate(settings.database_url)
    console.print("database is up to date")


@partners_app.command("create")
def partners_create(
    name: Annotated[str, typer.Option(help="A unique name for the partner.")],
    phone_number: Annotated[
        list[str] | None, typer.Option("--phone-number", help="An E.164 line for the partner (repeatable).")
    ] = None,
) -> None:
    """Create a partner; prints its id, its API key (shown once) and its lines as JSON."""
    from linq_server.config import Settings
    from linq_server.domain import partners
    from linq_server.domain.errors import LinqError
    from linq_server.store.database import Database

    settings = Settings()
    _migrate(settings.database_url)

    async def create() -> partners.NewPartner:
        db = Database(settings.database_url)
        try:
            return await partners.create_partner(db, name, phone_number or [])
        finally:
            await db.close()

    try:
        created = asyncio.run(create())
    except LinqError as error:
        console.print(f"[red]error:[/] {error.message}")
        raise typer.Exit(1) from error
    typer.echo(
        json.dumps(
            {
                "partner_id": created.partner.id,
                "api_key": created.api_key,
                "phone_numbers": [line.phone_number for line in created.lines],
            }
        )
    )


@partners_app.command("list")
def partners_list() -> None:
    """List partners and their lines (never their keys)."""
    from linq_server.config import Settings
    from linq_server.domain import partners
    from linq_server.store.database import Database

    settings = Settings()
    _migrate(settings.database_url)

    async def load() -> list[tuple[Partner, list[PhoneLine]]]:
        db = Database(settings.database_url)
        try:
            return await partners.list_partners(db)
        finally:
            await db.close()

    for partner, lines in asyncio.run(load()):
        typer.echo(
            json.dumps(
                {"partner_id": partner.id, "name": partner.name, "phone_numbers": [x.phone_number for x in lines]}
            )
        )


def main() -> None:
    app()
