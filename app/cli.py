"""`konveyer demo | run | check | migrate | export-bpmn | catalog | sandbox | drill | bench`: the command line other
tools drive."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from pathlib import Path

from app.settings import SANDBOX_TOKEN
from flows.loader import check_and_warn, check_paths

log = logging.getLogger("konveyer")


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _terminal_language() -> str:
    """Russian where the admin's terminal is Russian (LC_ALL, LC_MESSAGES or LANG), else English: scripts that
    read `konveyer check` on a server's C or English locale keep reading what they read before."""
    import os

    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(name):
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"


def cmd_check(args: argparse.Namespace) -> int:
    """Every problem as `file:line: message` in the admin's language, then how many (on stderr, after them)."""
    from services.i18n import Translator

    paths = args.paths or [str(Path(__file__).resolve().parent.parent / "flows" / "library")]
    problems, warnings = check_and_warn(paths)
    with tempfile.TemporaryDirectory() as compiled:
        translator = Translator(Path(compiled))
        for problem in problems + warnings:
            print(problem.translated(lambda msgid: translator.t(msgid, args.lang)))
        sys.stdout.flush()  # the count comes after the lines it counts, also where both streams go to one place
        counted = [translator.tn("%(n)s problem", "%(n)s problems", len(problems), args.lang)] if problems else []
        if warnings:  # a warning leaves the exit code alone: the definitions load as they are
            counted.append(translator.tn("%(n)s warning", "%(n)s warnings", len(warnings), args.lang))
        if counted:
            print(", ".join(counted), file=sys.stderr)
        if problems:
            return 1
        print(translator.t("all definitions are valid", args.lang))
    return 0


def cmd_export_bpmn(args: argparse.Namespace) -> int:
    """A process as BPMN 2.0 XML with its diagram (opens in bpmn.io and Camunda Modeler)."""
    from services.bpmn import export_from_folder

    folder = Path(args.library) if args.library else Path(__file__).resolve().parent.parent / "flows" / "library"
    problems = check_paths([str(folder)])
    if problems:
        print("\n".join(str(p) for p in problems), file=sys.stderr)
        return 1
    try:
        xml = export_from_folder(folder, args.process, lang=args.lang)
    except KeyError:
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
        print(f"no process '{args.process}' in {folder}; the files there: {known}", file=sys.stderr)
        return 2
    if args.output in (None, "-"):
        sys.stdout.buffer.write(xml)
    else:
        Path(args.output).write_bytes(xml)
        print(f"{args.process}: BPMN written to {args.output}", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pydantic import SecretStr

    from app.application import App
    from app.settings import Settings

    settings = Settings()
    if args.database_url:
        settings.database_url = args.database_url
    if args.webhook_url:
        settings.webhook_url = args.webhook_url
    if args.webhook_port is not None:
        settings.webhook_port = args.webhook_port
    if args.webhook_secret:
        settings.webhook_secret = SecretStr(args.webhook_secret)
    if settings.webhook_url and not settings.webhook_secret:
        print("Webhook mode needs a secret: set WEBHOOK_SECRET or --webhook-secret.", file=sys.stderr)
        return 2
    if settings.bot_token is None and not settings.api_base:
        print("BOT_TOKEN is not set. Set it (and optionally API_BASE), or try `konveyer demo`.", file=sys.stderr)
        return 2

    async def main() -> None:
        app = App(settings, freeze_heap=True)
        await app.start()
        try:
            await _wait_for_signal()
        finally:
            await app.stop()

    asyncio.run(main())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Move running cases of a process onto another version: a report first (nothing changes), `--apply` to do it.
    Exit 0 when every case moved (or can move), 1 when some cannot, 2 when the request itself is wrong."""
    from app.container import build_core
    from app.settings import Settings
    from services.migration import MappingError, Migration, parse_mapping

    settings = Settings()
    if args.database_url:
        settings.database_url = args.database_url
    try:
        mapping = parse_mapping(args.map)
    except MappingError as wrong:
        print(f"--map {wrong}: expected old_stage:new_stage", file=sys.stderr)
        return 2

    async def main() -> int:
        core = await build_core(settings)
        try:
            migration = Migration(core)
            run = migration.apply if args.apply else migration.check
            report = await run(args.process, args.from_version, args.to_version, mapping)
            for line in migration.report_lines(report):
                print(line)
        finally:
            await core.close()
        if report.problems:
            return 2
        return 1 if report.refused else 0

    return asyncio.run(main())


def cmd_catalog(args: argparse.Namespace) -> int:
    """`catalog import FILE…`: CommerceML files from 1C into the catalogue, as one package; `catalog stats`: the
    counts an admin compares with 1C."""
    import json

    from app.settings import Settings
    from db.engine import make_engine, make_sessionmaker, migrate
    from flows.clock import SystemClock
    from integrations.onec.commerceml import NotCommerceML
    from integrations.onec.importer import import_files
    from services import catalogue

    settings = Settings()
    if args.database_url:
        settings.database_url = args.database_url

    missing = [name for name in getattr(args, "files", []) if not Path(name).is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def main() -> int:
        engine = make_engine(settings.resolved_database_url())
        try:
            await migrate(engine)
            sessionmaker = make_sessionmaker(engine)
            if args.what == "import":
                try:
                    result = await import_files(sessionmaker, SystemClock(), [Path(name) for name in args.files])
                except (NotCommerceML, ValueError) as wrong:
                    print(f"import failed: {wrong}", file=sys.stderr)
                    return 1
                kind = "changes only" if result.only_changes else "full package"
                counts = ", ".join(f"{key} {value}" for key, value in sorted(result.counts.items()))
                print(f"import {result.import_id} ({kind}): {counts or 'nothing'}")
                for line in result.skipped:
                    print(f"organisation {line}")
            async with sessionmaker() as session:
                figures = await catalogue.stats(session)
            if args.what == "stats" and args.json:
                print(json.dumps(figures))
            else:
                print("  ".join(f"{key}: {value}" for key, value in figures.items()))
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(main())


def cmd_demo(args: argparse.Namespace) -> int:
    from sandbox.demo import run_demo

    return asyncio.run(run_demo(port=args.port, database_url=args.database_url, data_dir=Path(args.data_dir)))


def cmd_sandbox(args: argparse.Namespace) -> int:
    """«Telegram» as a process of its own: the bot can be killed and restarted while it keeps running."""
    from sandbox.server import SandboxServer

    state = Path(args.state).resolve()
    state.parent.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        server = SandboxServer(token=args.token, state_path=state, enforce_limits=not args.no_limits)
        base = await server.start(host=args.host, port=args.port)
        print(f"Sandbox Bot API: {base}  (API_BASE={base})", flush=True)
        print(f"Web chat: {base}/   state: {state}", flush=True)
        try:
            await _wait_for_signal()
        finally:
            await server.stop()

    asyncio.run(main())
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    from bench.drill import main as drill_main

    return drill_main(args)


def cmd_bench(args: argparse.Namespace) -> int:
    try:
        from bench.run import main as bench_main
    except ImportError as exc:
        print(f"the benchmark is not available: {exc}", file=sys.stderr)
        return 2
    return int(bench_main(args) or 0)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="konveyer", description="Business processes that run inside Telegram.")
    root.add_argument("-v", "--verbose", action="store_true")
    sub = root.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run everything locally with the sandbox (no Telegram token needed)")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--database-url", default=None, help="default: an SQLite file in the data directory")
    demo.add_argument("--data-dir", default="data")
    demo.set_defaults(func=cmd_demo)
    run = sub.add_parser("run", help="run the bot against Telegram (BOT_TOKEN) or API_BASE")
    run.add_argument("--database-url", default=None)
    run.add_argument(
        "--webhook-url", default=None, help="serve updates by webhook (several workers) instead of polling"
    )
    run.add_argument("--webhook-port", type=int, default=None, help="default: WEBHOOK_PORT or 8443")
    run.add_argument("--webhook-secret", default=None, help="default: WEBHOOK_SECRET")
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check", help="check process definitions; prints file:line: message")
    check.add_argument("paths", nargs="*")
    check.add_argument("--lang", default=_terminal_language(), choices=["ru", "en"],
                       help="the language of the messages (default: the terminal's locale, Russian or English)")
    check.set_defaults(func=cmd_check)
    bpmn = sub.add_parser("export-bpmn", help="write a process as BPMN 2.0 XML with its diagram (bpmn.io, Camunda)")
    bpmn.add_argument("process", help="the process key, e.g. defect_return")
    bpmn.add_argument("-o", "--output", default=None, help="the file to write (default: standard output)")
    bpmn.add_argument("--library", default=None, help="a folder of definitions (default: the shipped library)")
    bpmn.add_argument("--lang", default="ru", choices=["ru", "en"], help="the language of names and notes")
    bpmn.set_defaults(func=cmd_export_bpmn)
    migrate = sub.add_parser("migrate", help="move running cases onto another version of their process")
    migrate_what = migrate.add_subparsers(dest="what", required=True)
    process = migrate_what.add_parser(
        "process", help="checked and reported first; --apply moves each case in a transaction of its own"
    )
    process.add_argument("process", help="the process key, e.g. defect_return")
    process.add_argument("--from", dest="from_version", type=int, required=True, help="the version cases are on")
    process.add_argument("--to", dest="to_version", type=int, required=True, help="the version to move them to")
    process.add_argument(
        "--map",
        nargs="+",
        action="extend",
        default=[],
        metavar="OLD:NEW",
        help="where cases at a stage of the old version go (a stage of the same key maps to itself)",
    )
    process.add_argument("--apply", action="store_true", help="do it (without it: only the report)")
    process.add_argument("--database-url", default=None)
    process.set_defaults(func=cmd_migrate)
    catalog = sub.add_parser("catalog", help="the catalogue from 1C: import CommerceML files, print its counts")
    catalog_what = catalog.add_subparsers(dest="what", required=True)
    catalog_import = catalog_what.add_parser(
        "import", help="import.xml / offers.xml (and 1C's split files) as one package, in the order given"
    )
    catalog_import.add_argument("files", nargs="+", metavar="FILE")
    catalog_import.add_argument("--database-url", default=None)
    catalog_stats = catalog_what.add_parser(
        "stats", help="groups, products, offers, prices, warehouses, stock, organisations"
    )
    catalog_stats.add_argument("--json", action="store_true", help="as one JSON object")
    catalog_stats.add_argument("--database-url", default=None)
    catalog.set_defaults(func=cmd_catalog)
    sandbox = sub.add_parser("sandbox", help="run the sandbox Telegram Bot API alone (connect `run` with API_BASE)")
    sandbox.add_argument("--port", type=int, default=8081)
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--state", default="data/sandbox.json", help="where its users and messages are kept")
    sandbox.add_argument("--token", default=SANDBOX_TOKEN, help="the one bot token it accepts (as Telegram would)")
    sandbox.add_argument(
        "--no-limits", action="store_true", help="no flood limits (for load tests that say so; Telegram has them)"
    )
    sandbox.set_defaults(func=cmd_sandbox)
    drill = sub.add_parser("drill", help="kill the bot at random moments while people work; count what was lost")
    drill.add_argument("--kills", type=int, default=50)
    drill.add_argument("--people", type=int, default=3, help="shop managers registering defects at once")
    drill.add_argument("--database-url", default=None, help="PostgreSQL to make a scratch database next to")
    drill.add_argument("--seed", type=int, default=None)
    drill.add_argument("--json", dest="json_path", default=None)
    drill.set_defaults(func=cmd_drill)
    bench = sub.add_parser("bench", help="measure speed next to reference points")
    bench.add_argument("--json", dest="json_path", default=None)
    bench.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parts = "engine,bot,workers,delivery,scale,catalog,search"
    bench.add_argument("--only", default="", help=f"comma-separated parts: {parts}")
    bench.set_defaults(func=cmd_bench)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command not in ("check", "export-bpmn"):
        _logging(args.verbose)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
