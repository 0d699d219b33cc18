"""Start the bot under test as a child process and watch its memory and CPU."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


class BotProcess:
    """`python -m bench.botproc ...` in a child; samples its RSS until it stops."""

    def __init__(self, *args: str, log_path: Path, ready_timeout: float = 240.0, sample_every: float = 0.05) -> None:
        self.args = args
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.sample_every = sample_every
        self.proc: asyncio.subprocess.Process | None = None
        self.peak_rss = 0
        self._sampler: asyncio.Task[None] | None = None
        self._log_file: object = None
        self._spy: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> BotProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = self.log_path.open("wb")
        self._log_file = log_file
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.botproc", *self.args, cwd=str(ROOT),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log_file)
        self._sampler = asyncio.create_task(self._sample())
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=self.ready_timeout)
        except TimeoutError:
            line = b""
        if b"READY" not in line:
            await self.stop()
            raise RuntimeError(f"the bot process did not start: {self.log_tail()}")
        await self._start_profiler()
        return self

    async def _start_profiler(self) -> None:
        """With BENCH_PYSPY=DIR set, py-spy records the bot while it is measured (raw collapsed stacks)."""
        folder = os.environ.get("BENCH_PYSPY")
        spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
        if not folder or spy is None or self.proc is None:
            return
        os.makedirs(folder, exist_ok=True)
        out = os.path.join(folder, f"{self.args[0]}-{self.proc.pid}.txt")
        self._spy = await asyncio.create_subprocess_exec(
            spy, "record", "-p", str(self.proc.pid), "-r", "250", "-f", "raw", "-o", out, "--nonblocking",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        log.info("py-spy records the %s bot into %s", self.args[0], out)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def statements(self) -> dict[str, int]:
        """The statements the bot has sent to its database so far, by verb and in all ("total")."""
        return {str(k): int(v) for k, v in (await self._ask(b"stats")).items()}

    async def stalls(self) -> dict[str, float]:
        """How late the bot's event loop ran since the last call (`bench.botproc.Stalls`); starts a new window."""
        return {str(k): float(v) for k, v in (await self._ask(b"stalls")).items()}

    async def _ask(self, command: bytes) -> dict[str, Any]:
        """One command on the bot's stdin, its one-line JSON answer on stdout ({} once the bot has stopped)."""
        if self.proc is None or self.proc.returncode is not None or self.proc.stdin is None:
            return {}
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=30)
        return dict(json.loads(line or b"{}"))

    def rss(self) -> int:
        if self.proc is None or self.proc.returncode is not None:
            return 0
        try:
            return int(psutil.Process(self.proc.pid).memory_info().rss)
        except psutil.Error:
            return 0

    def cpu_seconds(self) -> float:
        """User + system CPU the bot process has used so far (its own work, whatever the machine's load)."""
        if self.proc is None or self.proc.returncode is not None:
            return 0.0
        try:
            times = psutil.Process(self.proc.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    async def _sample(self) -> None:
        while self.proc is not None and self.proc.returncode is None:
            self.peak_rss = max(self.peak_rss, self.rss())
            await asyncio.sleep(self.sample_every)

    async def stop(self) -> None:
        if self._spy is not None and self._spy.returncode is None:
            self._spy.send_signal(2)  # py-spy writes its file on SIGINT
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._spy.wait(), timeout=20)
        proc = self.proc
        if proc is not None and proc.returncode is None:
            self.peak_rss = max(self.peak_rss, self.rss())
            if proc.stdin is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), timeout=20)
            except TimeoutError:
                log.warning("the bot process %s did not stop; terminating it", proc.pid)
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), timeout=5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""
