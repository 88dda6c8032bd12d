"""The officer console from the command line: its accounts (``user add|passwd|disable|enable|list``: who may sign
in), the REST API's tokens (``token add|list|revoke``: which programs may call it, as whom) and its server
(``console``).

Passwords are typed at a hidden prompt (twice), or read from the first line of standard input with
``--password-stdin`` for scripts (``read_password``). Every
change is recorded in the custody log under ``user:<name>`` with who made it and the login account. An API token is
printed once, when it is added; the store keeps only its SHA-256.
"""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from takedown.cli._common import (
    ByOption,
    ConfigOption,
    PasswordStdinOption,
    console,
    officer,
    open_or_create_store,
    read_password,
    settings_from,
)
from takedown.errors import UsageError

user_app = typer.Typer(help="Console accounts: who may sign in, with which roles.", no_args_is_help=True)
token_app = typer.Typer(help="REST API tokens: which programs may call the console's API, as which user.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.command("console")(console_command)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="the sign-in name: lower-case letters, digits, '.', '_', '-'")],
    name: Annotated[str, typer.Option("--name", help="display name: approvals are recorded, notices signed with it")],
    role: Annotated[
        list[str], typer.Option("--role", help="officer, supervisor, auditor or admin (repeatable)")
    ],
    by: ByOption = "",
    title: Annotated[str, typer.Option("--title", help="signs notices beside the name")] = "",
    locale: Annotated[str, typer.Option("--locale", help="the console's language for the user: ko or en")] = "ko",
    password_stdin: PasswordStdinOption = False,
    config: ConfigOption = None,
) -> None:
    """Add a user who can sign in to the console."""
    from takedown.console.accounts import add_user

    who = officer(by)
    password = read_password(password_stdin, twice=True)
    with open_or_create_store(settings_from(config)) as store:
        user = add_user(store, username, password, roles=role, display_name=name, title=title, locale=locale, by=who)
    console.print(f"Added {escape(user.username)} ({', '.join(sorted(r.value for r in user.roles))}).")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="whose password")],
    by: ByOption = "",
    password_stdin: PasswordStdinOption = False,
    config: ConfigOption = None,
) -> None:
    """Set a user's password; their sessions end and a lock-out is lifted."""
    from takedown.console.accounts import set_password

    who = officer(by)
    password = read_password(password_stdin, twice=True)
    with open_or_create_store(settings_from(config)) as store:
        set_password(store, username, password, by=who)
    console.print(f"Changed the password of {escape(username)}; their sessions have ended.")


@user_app.command("disable")
def user_disable(
    username: Annotated[str, typer.Argument(help="who may no longer sign in")],
    by: ByOption = "",
    reason: Annotated[str, typer.Option("--reason", help="why (recorded)")] = "",
    config: ConfigOption = None,
) -> None:
    """Stop a user from signing in (their sessions end); the account and its history are kept."""
    from takedown.console.accounts import set_user_disabled

    with open_or_create_store(settings_from(config)) as store:
        set_user_disabled(store, username, disabled=True, by=officer(by), reason=reason)
    console.print(f"Disabled {escape(username)}.")


@user_app.command("enable")
def user_enable(
    username: Annotated[str, typer.Argument(help="who may sign in again")],
    by: ByOption = "",
    config: ConfigOption = None,
) -> None:
    """Let a disabled user sign in again."""
    from takedown.console.accounts import set_user_disabled

    with open_or_create_store(settings_from(config)) as store:
        set_user_disabled(store, username, disabled=False, by=officer(by))
    console.print(f"Enabled {escape(username)}.")


@user_app.command("list")
def user_list(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the users with their roles and state (never their password hashes)."""
    with open_or_create_store(settings_from(config)) as store:
        users = store.list_users()
    rows: list[dict[str, Any]] = [{"username": u.username, "display_name": u.display_name, "title": u.title,
             "roles": sorted(r.value for r in u.roles), "locale": u.locale, "disabled": u.disabled,
             "locked_until": u.locked_until.isoformat() if u.locked_until else None,
             "failed_logins": u.failed_logins} for u in users]
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"Users ({len(rows)})", box=box.SIMPLE)
    for column in ("user", "name", "roles", "state"):
        table.add_column(column)
    for row in rows:
        state = "disabled" if row["disabled"] else f"locked until {row['locked_until']}" if row["locked_until"] \
            else "active"
        table.add_row(escape(row["username"]), escape(f"{row['display_name']} {row['title']}".strip()),
                      ", ".join(row["roles"]), state)
    console.print(table)


@token_app.command("add")
def token_add(
    username: Annotated[str, typer.Argument(help="the user the token acts as (with that user's roles)")],
    name: Annotated[str, typer.Option("--name", help="what the token is for, e.g. 'nightly case sync'")],
    days: Annotated[int, typer.Option("--days", help="how long it holds, 1 to 366; 0: until it is revoked")] = 90,
    by: ByOption = "",
    config: ConfigOption = None,
) -> None:
    """Issue an API token for a user and print it: the only time it is shown (the store keeps its SHA-256)."""
    from takedown.console.tokens import issue_token, token_hash

    who = officer(by)
    with open_or_create_store(settings_from(config)) as store:
        token = issue_token(store, username, name, by=who, days=days or None)
        record = store.get_api_token(token_hash(token))
    until = record.expires_at.isoformat(timespec="minutes") if record.expires_at else "until revoked"
    console.print(f"API token {record.id} for {escape(username)} ({escape(record.name)}), valid {until}. "
                  "Copy it now: it is not shown again.", highlight=False)
    typer.echo(token)  # alone on its line, unstyled, for a script to read


@token_app.command("list")
def token_list(
    username: Annotated[str | None, typer.Argument(help="only this user's tokens")] = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List API tokens with their ids, users, names and state (never the tokens, which are not kept)."""
    from takedown.models import utcnow

    now = utcnow()
    with open_or_create_store(settings_from(config)) as store:
        tokens = store.list_api_tokens(username)

    def stamp(value: Any) -> str | None:
        return value.isoformat(timespec="minutes") if value else None

    rows: list[dict[str, Any]] = [{
        "id": t.id, "username": t.username, "name": t.name, "created_at": stamp(t.created_at),
        "created_by": t.created_by, "expires_at": stamp(t.expires_at), "last_used_at": stamp(t.last_used_at),
        "state": "revoked" if t.revoked_at else "expired" if t.expires_at and t.expires_at <= now else "active",
    } for t in tokens]
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"API tokens ({len(rows)})", box=box.SIMPLE)
    for column in ("id", "user", "name", "state", "expires", "last used"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["id"], escape(row["username"]), escape(row["name"]), row["state"],
                      row["expires_at"] or "never", row["last_used_at"] or "-")
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    which: Annotated[str, typer.Argument(help="the token's id (takedown token list), or its name")],
    user: Annotated[str | None, typer.Option("--user", help="only this user's tokens (when names repeat)")] = None,
    by: ByOption = "",
    config: ConfigOption = None,
) -> None:
    """Revoke an API token: it stops working at once; its record and history are kept."""
    from takedown.console.tokens import revoke_token

    who = officer(by)
    with open_or_create_store(settings_from(config)) as store:
        revoked = revoke_token(store, which, by=who, username=user)
    console.print(f"Revoked API token {revoked.id} of {escape(revoked.username)} ({escape(revoked.name)}).",
                  highlight=False)


def console_command(
    host: Annotated[str, typer.Option("--host", help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="the port to listen on")] = 8000,
    secure_cookies: Annotated[
        bool | None, typer.Option("--secure-cookies/--no-secure-cookies",
                                  help="mark cookies Secure (default: yes, unless served over HTTP on loopback)")
    ] = None,
    transport: Annotated[
        str, typer.Option("--transport", help="how approved e-mail requests are sent: smtp ([smtp]) or outbox")
    ] = "smtp",
    outbox: Annotated[Path, typer.Option("--outbox", help="folder for --transport outbox")] = Path("outbox"),
    config: ConfigOption = None,
) -> None:
    """Serve the officer console: sign in with an account from ``takedown user add``.

    Behind a TLS-terminating proxy, listen on loopback and let the proxy face the network.
    """
    from takedown.cli.officer import make_transport
    from takedown.console.app import create_app
    from takedown.errors import MissingDependencyError

    settings = settings_from(config)
    if transport not in ("smtp", "outbox"):  # refused before serving, not at the first send
        raise UsageError(f"--transport is smtp or outbox, not {transport!r}")
    app = create_app(settings, secure_cookies=secure_cookies,
                     transport=lambda: make_transport(transport, settings, outbox))
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("uvicorn", "console", feature="serving the console") from exc
    console.print(f"The console is at http://{host}:{port}/ (store: {settings.storage.store_url}); Ctrl-C stops it.")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
