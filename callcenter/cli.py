"""The `callcenter` command: serve | demo | migrate | user | import | backup | restore | ami-sim."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from callcenter.config import SETTINGS, Settings, SettingsError, load_settings
from callcenter.errors import AppError
from callcenter.services.context import Actor, utc_now

log = logging.getLogger("callcenter")


def _settings_parent() -> argparse.ArgumentParser:
    """The settings flags, accepted before and after the subcommand (``callcenter serve
    --http-port 9000``). Defaults are suppressed so a flag given in one place is not
    overwritten by the other's default."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--config", default=argparse.SUPPRESS,
                        help="TOML config file (also $CALLCENTER_CONFIG)")
    settings = parent.add_argument_group(
        "settings (each also CALLCENTER_<NAME> in the environment)")
    for s in SETTINGS:
        settings.add_argument(s.flag, dest=f"setting_{s.name}", default=argparse.SUPPRESS,
                              metavar="VALUE", help=f"{s.help} [default: {s.default!r}]")
    return parent


def _parser() -> argparse.ArgumentParser:
    common = _settings_parent()
    parser = argparse.ArgumentParser(
        prog="callcenter", parents=[common],
        description="Telephony-centred CRM for the call centres of online shops")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", parents=[common],
                           help="run the web server (and the AMI listener when configured)")
    serve.add_argument("--listen-fd", type=int, metavar="FD",
                       help="serve on this inherited, already listening socket instead of "
                            "binding --http-host/--http-port (for supervisors and benchmarks "
                            "that hold the port)")
    demo = sub.add_parser("demo", parents=[common],
                          help="migrate, seed demo data if empty, and serve")
    demo.add_argument("--clients", type=int, default=1000, help="demo clients to create")
    sub.add_parser("migrate", parents=[common],
                   help="bring the database schema to the newest version")

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_cmd",
                                                                      required=True)
    add = user.add_parser("add", parents=[common],
                          help="add a user; the password is read from stdin or prompted")
    add.add_argument("login")
    add.add_argument("--role", required=True, choices=["operator", "supervisor", "admin"])
    add.add_argument("--name")
    add.add_argument("--extension", help="softphone endpoint, e.g. PJSIP/101")
    passwd = user.add_parser("passwd", parents=[common],
                             help="set a user's password (stdin or prompt)")
    passwd.add_argument("login")
    user.add_parser("list", parents=[common], help="list users")

    imp = sub.add_parser("import", help="import data").add_subparsers(dest="import_cmd",
                                                                      required=True)
    imp_clients = imp.add_parser("clients", parents=[common],
                                 help="import clients from a CSV file (see README for columns)")
    imp_clients.add_argument("file", type=Path)
    imp_clients.add_argument("--dry-run", action="store_true", help="report only, write nothing")

    backup = sub.add_parser("backup", parents=[common],
                            help="back up the database into the backup folder and verify it")
    backup.add_argument("--dir", help="folder of the backups [default: CALLCENTER_BACKUP_DIR]")
    backup.add_argument("--keep-days", type=int, help="days backups are kept "
                                                      "[default: CALLCENTER_BACKUP_KEEP_DAYS]")
    restore = sub.add_parser("restore", parents=[common],
                             help="replace the database with a backup (servers stopped)")
    restore.add_argument("file", type=Path, help="the backup file (its .json manifest beside it)")
    restore.add_argument("--yes", action="store_true",
                         help="PostgreSQL: confirm that every table is replaced")

    # the simulator parses its own options (``main`` hands it everything after ``ami-sim``)
    sub.add_parser("ami-sim", add_help=False,
                   help="run the AMI simulator (a fake Asterisk for demos/tests; "
                        "`callcenter ami-sim --help` for options)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    cli = {s.name: getattr(args, f"setting_{s.name}", None) for s in SETTINGS}
    return load_settings(cli, config_file=getattr(args, "config", None))


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat: ") != first:
            raise SystemExit("error: the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "ami-sim":
        from callcenter.ami.sim import main as sim_main

        return sim_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return asyncio.run(_run(args, settings))
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.storage.database import Database
    from callcenter.storage.migrate import upgrade

    if args.command == "migrate":
        db = Database(settings.db_url)
        try:
            revision = await upgrade(db)
        finally:
            await db.dispose()
        print(f"database at migration {revision}")
        return 0
    if args.command == "serve":
        from callcenter.server import inherited_socket, serve

        sock = inherited_socket(args.listen_fd) if args.listen_fd is not None else None
        await serve(settings, sock=sock)
        return 0
    if args.command == "demo":
        from callcenter.server import listen, serve
        from callcenter.services.demo import demo_secret_key, seed_demo

        # the port first: when it is taken, say so before migrating and seeding
        sock = listen(settings.http_host, settings.http_port)
        try:
            if not settings.secret_key:
                folder = _demo_folder(settings)
                try:
                    key = demo_secret_key(folder)
                except OSError as exc:
                    raise AppError(f"cannot keep the demo's session key in {folder}: "
                                   f"{exc.strerror or exc}") from None
                settings = settings.replace(secret_key=key)
            db = Database(settings.db_url)
            try:
                await upgrade(db)
                credentials = await seed_demo(db, clients=args.clients, now=utc_now(),
                                              settings=settings)
            finally:
                await db.dispose()
        except BaseException:
            sock.close()
            raise
        # notifications: a local mail catcher and SMS sink, so the demo's messages go out
        from callcenter.services.demo_sinks import start_demo_sinks
        settings, stop_sinks = start_demo_sinks(settings)
        try:
            await serve(settings, demo_callers=credentials.get("callers", []), sock=sock,
                        on_listening=lambda url: _print_demo(url, credentials))
        finally:
            stop_sinks()
        return 0
    if args.command in ("backup", "restore"):
        return await _backup_command(args, settings)
    return await _admin_command(args, settings)


def _demo_folder(settings: Settings) -> Path:
    """Where the demo keeps its files: beside its SQLite database, else ``var``."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent
    return Path("var")


def _print_demo(url: str, credentials: dict[str, Any]) -> None:
    print("\n=== callcenter demo ===")
    print(f"Open {url} and log in as one of:")
    for login, info in credentials["users"].items():
        print(f"  {login:<12} password {info['password']:<18} {info['role']:<10} "
              f"{info.get('extension') or ''}")
    for slug, token in credentials.get("shop_tokens", {}).items():
        print(f"  shop {slug}: intake token {token}")
    print("The operator's day: log in as 101, press Ready, then Next task (F2) and Call; the demo "
          "PBX answers busy, answered, no answer in turn.")
    print("These are demo passwords: do not use the demo database in production.\n", flush=True)


async def _admin_command(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.app import build_services
    from callcenter.storage.database import Database

    db = Database(settings.db_url)
    try:
        await db.check_migrated()
        services = build_services(settings, db, utc_now)
        actor = Actor.system("cli")
        if args.command == "user":
            if args.user_cmd == "add":
                password = _read_password(f"Password for {args.login}: ")
                user = await services.accounts.create_user(actor, {
                    "login": args.login, "name": args.name or args.login, "role": args.role,
                    "extension": args.extension, "password": password})
                print(f"user {user['login']} added (id {user['id']}, {user['role']})")
            elif args.user_cmd == "passwd":
                await services.accounts.set_password(actor, args.login,
                                                     _read_password(f"New password for {args.login}: "))
                print(f"password of {args.login} changed; their sessions were ended")
            else:
                for u in await services.accounts.list_users():
                    print(f"{u['id']:>4} {u['login']:<16} {u['role']:<10} "
                          f"{u['extension'] or '-':<12} {'active' if u['active'] else 'inactive'}"
                          f"  {u['name']}")
        elif args.command == "import":
            try:
                data = args.file.read_bytes()
            except OSError as exc:
                print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
                return 1
            report = await services.importer.import_clients(actor, data, dry_run=args.dry_run)
            print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.details.get("fields"):
            for field, message in exc.details["fields"].items():
                print(f"  {field}: {message}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()


async def _backup_command(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.services.backup import BackupService
    from callcenter.storage.database import Database

    db = Database(settings.db_url)
    try:
        service = BackupService(
            db, utc_now, url=settings.db_url,
            backup_dir=getattr(args, "dir", None) or settings.backup_dir,
            keep_days=settings.backup_keep_days if getattr(args, "keep_days", None) is None
            else args.keep_days, backup_time="", timezone=settings.timezone)
        if args.command == "backup":
            m = await service.create(Actor.system("cli"))
            print(json.dumps({k: m[k] for k in ("name", "size", "verified", "error",
                                                "revision", "deleted")}, ensure_ascii=False))
            return 0 if m["verified"] else 1
        await db.dispose()  # restore needs the database file closed
        info = await service.restore(args.file, yes=args.yes)
        print(f"restored {args.file.name} (migration {info.get('revision')})")
        if info.get("needs_migrate"):
            print("the backup is from an older version: run `callcenter migrate` before "
                  "starting the server")
        return 0
    finally:
        await db.dispose()
