"""The bot under test in its own process, so its CPU and memory are its own.

    python -m bench.botproc konveyer --api-base URL --database-url URL --data-dir DIR
    python -m bench.botproc echo --api-base URL
    python -m bench.botproc konveyer ... --webhook-url URL --webhook-port PORT --webhook-secret S   (a worker)

Prints READY when it polls, stops when its standard input closes (or after --max-seconds). A line «stats» on
its standard input is answered on its standard output with one JSON line: the statements Konveyer has sent to
the database so far, by verb (the echo bot answers {}). A line «stalls» is answered with how late the process's
event loop ran since the last such line (`Stalls`), and starts a new window. With BENCH_CPROFILE=FILE set, the
whole process runs under cProfile and its statistics are written to FILE when it stops. With BENCH_HEAP=FILE set,
each «stalls» window and the end of the run append to FILE (JSON lines) what the collector holds: objects per
generation, the frozen count, collections so far, and the 25 commonest types among the unfrozen long-lived objects.
With BENCH_STALL_STACKS=FILE set, what the event loop's thread ran while the loop was late (`StallStacks`).
With BENCH_TRACE=FILE set, Konveyer's timeline is written to FILE at exit (`Trace`): each update's handling, each
garbage collection, the sender's and the inbox's sweeps and each new database connection, in wall-clock time, to
line up with a bench's own per-action times.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import gc
import json
import logging
import math
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

log = logging.getLogger(__name__)

ECHO_BUTTON = "➡️ Дальше"
TOKEN = "123456:SANDBOX-konveyer-bench-token"


def echo_dispatcher() -> Dispatcher:
    """A bare aiogram bot: answers every message and every button press at once (the ceiling)."""
    dispatcher = Dispatcher()
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=ECHO_BUTTON, callback_data="next")]])

    @dispatcher.message(F.photo)
    async def photo(message: Message) -> None:
        await message.answer("photo", reply_markup=keyboard)

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?", reply_markup=keyboard)

    @dispatcher.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        try:
            await query.answer()
        except TelegramBadRequest:
            # On a starved machine the press waited past Telegram's ~15 s; a real bot still answers in the chat.
            log.warning("echo: a button press was answered too late")
        if query.message is not None:
            await query.message.answer("pressed", reply_markup=keyboard)

    return dispatcher


class Stalls:
    """How late the event loop runs: a timer due every 20 ms, and how much later it fires. Every update waiting in
    the process waits that long too. The main thread's CPU time over the worst one tells the bot's own work
    (a long callback, a garbage collection) from the machine not running the process (a shared machine). Full
    collections (generation 2) are counted and timed on their own. Costs ~50 wakeups a second."""

    EVERY = 0.02

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.worst = (0.0, 0.0)  # (lag, main thread CPU during it), seconds
        self.full_collections: list[float] = []
        self.full_collections_cpu: list[float] = []  # the collecting thread's CPU in each: the machine's share apart
        self.young_cpu = [0.0, 0.0]  # CPU of the generation 0 and 1 collections, seconds
        self.young_counts = [0, 0]
        self._collecting = (0.0, 0.0)
        self.beat = time.monotonic()  # the loop's timer last ran (`StallStacks`)
        gc.callbacks.append(self._collection)

    def _collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = (time.perf_counter(), time.thread_time())
            return
        generation = info.get("generation", 0)
        cpu = time.thread_time() - self._collecting[1]
        if generation == 2:
            self.full_collections.append(time.perf_counter() - self._collecting[0])
            self.full_collections_cpu.append(cpu)
        else:
            self.young_cpu[generation] += cpu
            self.young_counts[generation] += 1

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        stacks_path = os.environ.get("BENCH_STALL_STACKS")
        if stacks_path:
            StallStacks(self, stacks_path).start()
        try:
            while True:
                self.beat = time.monotonic()
                due, cpu = loop.time() + self.EVERY, time.thread_time()
                await asyncio.sleep(self.EVERY)
                lag = max(0.0, loop.time() - due)
                self.lags.append(lag)
                if lag > self.worst[0]:
                    self.worst = (lag, time.thread_time() - cpu)
        finally:
            self.beat = math.inf  # stopped: the shutdown that follows is no stall (`StallStacks`)

    def window(self) -> dict[str, float]:
        """The window since the last call, in milliseconds; then a new window."""
        lags = sorted(self.lags)
        out = {
            "samples": len(lags),
            "p99_ms": lags[int(len(lags) * 0.99)] * 1000 if lags else 0.0,
            "max_ms": self.worst[0] * 1000,
            "max_cpu_ms": self.worst[1] * 1000,
            "over_50ms": sum(1 for lag in lags if lag > 0.05),
            "full_collections": len(self.full_collections),
            "full_collection_max_ms": max(self.full_collections, default=0.0) * 1000,
            "full_collection_ms": sum(self.full_collections) * 1000,
            "full_collection_max_cpu_ms": max(self.full_collections_cpu, default=0.0) * 1000,
            "full_collection_cpu_ms": sum(self.full_collections_cpu) * 1000,
            "gen0_collections": self.young_counts[0],
            "gen0_cpu_ms": self.young_cpu[0] * 1000,
            "gen1_collections": self.young_counts[1],
            "gen1_cpu_ms": self.young_cpu[1] * 1000,
            "gen2_objects": len(gc.get_objects(2)),
            "frozen_objects": gc.get_freeze_count(),
        }
        heap_census(os.environ.get("BENCH_HEAP"), "window")
        self.lags, self.worst, self.full_collections, self.full_collections_cpu = [], (0.0, 0.0), [], []
        self.young_cpu, self.young_counts = [0.0, 0.0], [0, 0]
        return out


class StallStacks(threading.Thread):
    """With BENCH_STALL_STACKS=FILE: what the event loop's thread was running while the loop was late. A thread
    looks every 5 ms; once the loop's 20 ms timer (`Stalls`) is 20 ms overdue it takes the main thread's stack,
    and at exit FILE.konveyer (or FILE.echo) gets the stacks seen, commonest first (each sample is ~5 ms of a
    stall). A late loop caught in its own select() is the machine not running the process: not counted."""

    def __init__(self, stalls: Stalls, path: str) -> None:
        super().__init__(name="stall-stacks", daemon=True)
        self.stalls, self.path = stalls, path
        self.main = threading.main_thread().ident
        self.seen: Counter[tuple[str, ...]] = Counter()
        atexit.register(self.write)

    def run(self) -> None:
        while True:
            time.sleep(0.005)
            if time.monotonic() - self.stalls.beat < Stalls.EVERY + 0.02:  # (always, once `beat` is inf: stopped)
                continue
            frame = sys._current_frames().get(self.main or 0)
            if frame is None:
                continue
            stack = innermost_frames(frame, 25)
            if stack and stack[-1].startswith("selectors.py:select"):
                continue
            self.seen[stack] += 1

    def write(self) -> None:
        seen = Counter(dict(self.seen))  # a copy: the sampling thread may still be adding to it
        lines = [f"{n} samples\n  " + "\n  ".join(stack) for stack, n in seen.most_common(40)]
        kind = sys.argv[1] if len(sys.argv) > 1 else "bot"
        Path(f"{self.path}.{kind}").write_text("\n\n".join(lines), encoding="utf-8")


def innermost_frames(frame: FrameType | None, count: int) -> tuple[str, ...]:
    """The `count` innermost frames from `frame` out, as "file.py:function:line", outermost first (as a traceback
    reads). Only the code objects and line numbers: no source line is read, no file looked at."""
    names: list[str] = []
    while frame is not None and len(names) < count:
        code = frame.f_code
        names.append(f"{os.path.basename(code.co_filename)}:{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    names.reverse()
    return tuple(names)


class Trace:
    """With BENCH_TRACE=FILE: a timeline of the Konveyer process, written to FILE (JSON lines, wall-clock
    `time.time()` so a bench on the same machine can line it up with its own): each update handled (its
    update_id, when its handling began, when its person's turn came, when its transaction and answers were done),
    each garbage collection (generation, duration), each sweep of the outbox sender (`recover`,
    `poll_sms_reports`) and of the inbox (`reask_lost_questions`), and each new database connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.events: list[dict[str, object]] = []
        self._gc_start = 0.0

    def install(self, engine: object) -> None:
        from sqlalchemy import event

        from services.delivery.sender import OutboxSender
        from tgbot.inbox import InboxProcessor
        from tgbot.middlewares import DbSessionMiddleware

        gc.callbacks.append(self._collection)
        for cls, name in ((OutboxSender, "recover"), (OutboxSender, "poll_sms_reports"),
                          (InboxProcessor, "reask_lost_questions")):
            setattr(cls, name, self._timed(name, getattr(cls, name)))
        events = self.events
        original = DbSessionMiddleware.__call__

        async def traced(middleware: object, handler: object, update: object, data: dict[str, object]) -> object:
            began = time.time()
            entry: dict[str, object] = {"kind": "update", "id": getattr(update, "update_id", None), "began": began,
                                        "press": getattr(update, "callback_query", None) is not None}
            try:
                return await original(middleware, handler, update, data)  # type: ignore[arg-type]
            finally:
                entry["ended"] = time.time()
                events.append(entry)

        DbSessionMiddleware.__call__ = traced  # type: ignore[method-assign,assignment]
        event.listen(engine, "connect", lambda *_: events.append({"kind": "connect", "at": time.time()}))
        atexit.register(self.write)

    def _timed(self, name: str, method: object) -> object:
        events = self.events

        async def timed(*args: object, **kwargs: object) -> object:
            began = time.time()
            try:
                return await method(*args, **kwargs)  # type: ignore[operator]
            finally:
                events.append({"kind": name, "began": began, "ended": time.time()})

        return timed

    def _collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.time()
        else:
            self.events.append({"kind": "gc", "generation": info.get("generation", 0), "began": self._gc_start,
                                "ended": time.time()})

    def write(self) -> None:
        with open(self.path, "w", encoding="utf-8") as out:
            for entry in list(self.events):
                out.write(json.dumps(entry) + "\n")


def heap_census(path: str | None, label: str) -> None:
    """What the collector holds now (objects per generation, frozen, collections so far, the commonest types
    among the unfrozen long-lived objects), one JSON line appended to `path`."""
    if not path:
        return
    long_lived = gc.get_objects(2)
    types = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in long_lived)
    line = {"label": label, "kind": sys.argv[1] if len(sys.argv) > 1 else "", "pid": os.getpid(), "time": time.time(),
            "counts": gc.get_count(), "threshold": gc.get_threshold(),
            "generations": [len(gc.get_objects(g)) for g in range(3)], "frozen": gc.get_freeze_count(),
            "stats": gc.get_stats(), "types": types.most_common(25)}
    del long_lived
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


async def _stdin_closed(statements: Counter[str] | None = None) -> None:
    """Until the standard input closes; answers each «stats» line with the statements counted so far, each
    «stalls» line with the event loop's lateness since the last one."""
    loop = asyncio.get_running_loop()
    stalls = Stalls()
    watch = asyncio.create_task(stalls.run(), name="stalls")
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            if line.strip() == "stats":
                print(json.dumps(dict(statements or {})), flush=True)
            elif line.strip() == "stalls":
                print(json.dumps(stalls.window()), flush=True)
    finally:
        watch.cancel()


def count_statements(engine: object) -> Counter[str]:
    """Statements sent through a (sync) SQLAlchemy engine, by their first word."""
    from sqlalchemy import event

    seen: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    shapes_path = os.environ.get("BENCH_STATEMENTS")  # FILE: every statement's shape and count, written at exit

    def statement(_conn: object, _cursor: object, text: str, *_args: object) -> None:
        seen[text.lstrip()[:6].upper()] += 1
        seen["total"] += 1
        if shapes_path:
            shapes[" ".join(text.split())[:160]] += 1

    if shapes_path:
        import atexit

        atexit.register(lambda: Path(shapes_path).write_text(
            "\n".join(f"{n:7d} {shape}" for shape, n in shapes.most_common()), encoding="utf-8"))

    event.listen(engine, "before_cursor_execute", statement)
    return seen


async def _run_echo(api_base: str, max_seconds: float) -> None:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base.rstrip("/"))))
    dispatcher = echo_dispatcher()
    await bot.delete_webhook(drop_pending_updates=True)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False,
                                                           polling_timeout=10))
    print("READY", flush=True)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_stdin_closed(), timeout=max_seconds)
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(polling, timeout=5)
        await bot.session.close()


async def _run_konveyer(api_base: str, database_url: str, data_dir: Path, rate: float, max_seconds: float,
                        webhook: tuple[str, int, str] | None = None) -> None:
    from pydantic import SecretStr

    from app.application import App
    from app.settings import Settings

    settings = Settings(api_base=api_base, database_url=database_url, data_dir=data_dir, bot_token=None,
                        admin_ids=[], outbox_global_rate=rate, outbox_per_chat_rate=rate)
    if webhook is not None:
        url, port, secret = webhook
        settings.webhook_url, settings.webhook_host, settings.webhook_port = url, "127.0.0.1", port
        settings.webhook_secret = SecretStr(secret)
    trace_path = os.environ.get("BENCH_TRACE")
    app = App(settings, run_scheduler=False, freeze_heap=True)  # as `konveyer run` starts it
    await app.start()
    assert app.core is not None
    statements = count_statements(app.core.db.sync_engine)
    if trace_path:
        Trace(trace_path).install(app.core.db.sync_engine)

    heap_census(os.environ.get("BENCH_HEAP"), "started")
    print("READY", flush=True)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_stdin_closed(statements), timeout=max_seconds)
    finally:
        heap_census(os.environ.get("BENCH_HEAP"), "end")
        await app.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.botproc")
    parser.add_argument("kind", choices=("konveyer", "echo"))
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--outbox-rate", type=float, default=1000.0)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    parser.add_argument("--webhook-url", default="", help="webhook mode: the URL the sandbox posts to")
    parser.add_argument("--webhook-port", type=int, default=0, help="webhook mode: this worker's port")
    parser.add_argument("--webhook-secret", default="")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    profile_path = os.environ.get("BENCH_CPROFILE")
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting
        profiler.enable()
    try:
        if args.kind == "echo":
            asyncio.run(_run_echo(args.api_base, args.max_seconds))
        else:
            webhook = (args.webhook_url, args.webhook_port, args.webhook_secret) if args.webhook_url else None
            asyncio.run(_run_konveyer(args.api_base, args.database_url, Path(args.data_dir), args.outbox_rate,
                                      args.max_seconds, webhook))
    finally:
        if profiler is not None and profile_path:
            profiler.disable()
            profiler.dump_stats(f"{profile_path}.{args.kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
