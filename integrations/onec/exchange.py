"""The site side of 1C's standard exchange (CommerceML 2 over HTTP), at `/1c/exchange` on the site-facing server.

1C calls, in this order (`type=catalog`; `type=sale` logs in the same way):
- `mode=checkauth` with HTTP Basic: `success\\n<cookie name>\\n<cookie value>`; every later call carries the cookie,
  and a call without a live session's cookie is refused (`failure\\n…`, 401);
- `mode=init`: `zip=yes|no\\nfile_limit=<bytes>` (1C then sends files in chunks of at most that size). A new
  exchange starts here from an empty folder of its type's own (`<data>/1c-exchange/catalog`, `…/sale`), as Bitrix's
  site side does: a file left from an earlier exchange is never imported again, and one type's `init` never removes
  the other's files;
- `mode=file&filename=…` (POST, the body a chunk): appended to the file; the first chunk of a name in a session
  starts it afresh. Names with `..`, absolute paths or a script's extension are refused;
- `mode=import&filename=import.xml`: zip archives received are unpacked first, and every file but XML (the
  images, `import_files/…`) moves to `<data>/1c`, where the products refer to them and they stay; then the import
  runs in the background; each call waits a step (`import_step` seconds) and answers `progress` while it runs,
  `success` at the end, `failure\\n<reason>` if it failed. 1C repeats the call until it is not `progress`;
- `mode=deactivate` (newer 1C, after the split files of a full package): what the package did not mention is
  deactivated; `mode=complete`: the exchange is over.

`handlers` maps (type, mode) to a coroutine; another exchange (the orders of `type=sale`) registers its own with
`register` and gets the checked session with each call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import shutil
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath

from aiohttp import web

from db.models import ExchangeSession
from integrations.onec.importer import finish_sweep, import_files
from services import catalogue_import, onec_sessions
from services.catalogue import EXCHANGE_DIR
from services.core import Core

log = logging.getLogger(__name__)

COOKIE = "konveyer_1c"
WORK_DIR = "1c-exchange"  # under the data directory: a folder a type, what 1C sends within one exchange
FILE_LIMIT = 16 * 1024 * 1024  # bytes of one chunk 1C sends
UNPACKED_LIMIT = 4 * 1024**3  # what one zip archive may unpack to: a bomb stops here
STALE = timedelta(minutes=10)  # a running import whose worker has not written for this long has died
# Never stored: a file the web server might run, or an archive of the wrong kind.
REFUSED = frozenset(
    ".php .php3 .php4 .php5 .php7 .phtml .phar .pl .py .pyc .cgi .sh .bash .exe .com .bat .cmd .dll .so .js .mjs "
    ".jsp .jspx .asp .aspx .ashx .htaccess .htpasswd .shtml .svg .html .htm .vbs .ps1 .jar .war".split()
)


class Refused(Exception):
    """The call is refused: `failure` and the reason go back to 1C with the status."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Call:
    """One call of 1C within its session."""

    request: web.Request
    session: ExchangeSession
    folder: Path  # where this exchange's files are

    @property
    def filename(self) -> str:
        return safe_name(self.request.query.get("filename", ""))


Handler = Callable[[Call], Awaitable[str]]


def safe_name(name: str) -> str:
    """The name of a file 1C sends, relative to the exchange folder ("import_files/ab/abcd.jpg"); refused when it
    could leave the folder or is a script."""
    name = name.strip().replace("\\", "/")
    if not name or "\x00" in name or len(name) > 255:
        raise Refused("no file name, or a bad one")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise Refused(f"an absolute path is not accepted: {name}")
    if any(part in ("..", "") for part in name.split("/")) or any(p.startswith(".") for p in path.parts):
        raise Refused(f"the name may not leave the exchange folder: {name}")
    if any(suffix.lower() in REFUSED for suffix in path.suffixes) or path.name.lower() in REFUSED:
        raise Refused(f"this kind of file is not accepted: {name}")
    return str(path)


def _unpack(archive: Path, folder: Path) -> list[str]:
    """A zip archive 1C sent, unpacked next to it and removed; every member's name is checked like a file's.
    An archive refused or unreadable is removed too: left in the folder, every later import would fail on it."""
    names = []
    try:
        with zipfile.ZipFile(archive) as packed:
            members = [m for m in packed.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > UNPACKED_LIMIT:
                raise Refused(f"{archive.name} unpacks to more than {UNPACKED_LIMIT} bytes")
            for member in members:
                name = safe_name(member.filename)
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with packed.open(member) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1024 * 1024)
                names.append(name)
    except (Refused, zipfile.BadZipFile):
        archive.unlink(missing_ok=True)
        raise
    archive.unlink()
    return names


def _empty(folder: Path) -> None:
    """Everything in the folder removed (a file an import still reads stays readable until it is closed)."""
    for entry in list(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _keep_images(folder: Path, images: Path) -> None:
    """Every file of the exchange's folder but XML and zip archives (the images 1C sends, `import_files/…`) moved,
    at the same relative path, to where products' images are kept: the next exchange's `init` empties the folder,
    and a package of changes does not send the images again."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() in (".xml", ".zip"):
            continue
        target = images / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)


class Exchange:
    def __init__(
        self,
        core: Core,
        login: str,
        password: str,
        *,
        file_limit: int = FILE_LIMIT,
        zip_files: bool = True,
        import_step: float = 20.0,
    ) -> None:
        self.core = core
        self.login, self.password = login, password
        self.file_limit = file_limit
        self.zip_files = zip_files
        self.import_step = import_step  # seconds a `mode=import` call waits for the import before `progress`
        self.images = core.config.data_dir / EXCHANGE_DIR  # kept: the products' images
        self.folder = core.config.data_dir / WORK_DIR  # emptied, a type's folder at that type's `mode=init`
        self._imports: dict[int, asyncio.Task[object]] = {}
        self.handlers: dict[tuple[str, str], Handler] = {
            ("catalog", "init"): self.init,
            ("catalog", "file"): self.file,
            ("catalog", "import"): self.import_,
            ("catalog", "deactivate"): self.deactivate,
            ("catalog", "complete"): self.complete,
            ("sale", "init"): self.init,
        }

    def register(self, kind: str, mode: str, handler: Handler) -> None:
        self.handlers[(kind, mode)] = handler

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.file_limit + 64 * 1024)
        app.router.add_route("*", "/exchange", self.dispatch)
        app.on_cleanup.append(self._stop)
        return app

    async def _stop(self, _app: web.Application) -> None:
        for task in list(self._imports.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def dispatch(self, request: web.Request) -> web.Response:
        kind, mode = request.query.get("type", "catalog"), request.query.get("mode", "")
        try:
            if mode == "checkauth":
                return await self.checkauth(request)
            handler = self.handlers.get((kind, mode))
            async with self.core.sessionmaker() as session:
                row = await onec_sessions.find(session, request.cookies.get(COOKIE), self.core.clock.now())
            if row is None:
                raise Refused("no session: log in with mode=checkauth first", 401)
            if handler is None:
                raise Refused(f"type={kind}&mode={mode} is not supported")
            folder = self.folder / kind  # a registered type's, never a name 1C made up
            folder.mkdir(parents=True, exist_ok=True)
            return _answer(await handler(Call(request, row, folder)))
        except Refused as refused:
            log.warning("1C exchange %s/%s refused: %s", kind, mode, refused.reason)
            return _answer(f"failure\n{refused.reason}", refused.status)

    async def checkauth(self, request: web.Request) -> web.Response:
        login, password = _basic(request.headers.get("Authorization", ""))
        good = hmac.compare_digest(login.encode(), self.login.encode()) & hmac.compare_digest(
            password.encode(), self.password.encode()
        )
        if not good:
            return web.Response(
                status=401,
                text="failure\nwrong login or password",
                content_type="text/plain",
                headers={"WWW-Authenticate": 'Basic realm="1C exchange", charset="UTF-8"'},
            )
        async with self.core.sessionmaker() as session, session.begin():
            token = await onec_sessions.open_session(session, login, self.core.clock.now())
        return _answer(f"success\n{COOKIE}\n{token}")

    async def init(self, call: Call) -> str:
        """A new exchange of this type: its folder emptied, so nothing an earlier one sent is taken for this one's."""
        await asyncio.to_thread(_empty, call.folder)
        return f"zip={'yes' if self.zip_files else 'no'}\nfile_limit={self.file_limit}"

    async def file(self, call: Call) -> str:
        return f"success\n{call.filename}: {await self.receive(call)} bytes"

    async def receive(self, call: Call) -> int:
        """A piece of a file 1C sends (`mode=file`), appended to what came of it in this session: its size."""
        name = call.filename
        target = call.folder / name
        started = list(call.session.data.get("files", []))
        first = name not in started
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with target.open("wb" if first else "ab") as out:
            async for chunk in call.request.content.iter_chunked(256 * 1024):
                size += len(chunk)
                out.write(chunk)
        if first:
            await self._remember(call.session, files=[*started, name])
        return size

    async def import_(self, call: Call) -> str:
        name = call.filename
        async with self.core.sessionmaker() as session:
            row = await catalogue_import.import_of(session, call.session.token_hash, name)
        if row is None:
            import_id = await self._start(call, name)
        elif row.status == "done":
            return f"success\n{_summary(row.counts)}"
        elif row.status == "failed":
            return f"failure\n{row.error or 'the import failed'}"
        else:
            import_id = row.id
        task = self._imports.get(import_id)
        if task is None:
            return await self._orphan(import_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=self.import_step)
        if not task.done():
            return "progress\nthe import goes on"
        async with self.core.sessionmaker() as session:
            row = await catalogue_import.import_of(session, call.session.token_hash, name)
        assert row is not None
        if row.status == "done":
            return f"success\n{_summary(row.counts)}"
        return f"failure\n{row.error or 'the import failed'}"

    async def _start(self, call: Call, name: str) -> int:
        try:
            for archive in sorted(call.folder.glob("*.zip")):
                await asyncio.to_thread(_unpack, archive, call.folder)
        except zipfile.BadZipFile as bad:
            raise Refused(f"a zip archive could not be read: {bad}") from bad
        await asyncio.to_thread(_keep_images, call.folder, self.images)
        path = call.folder / name
        if not path.is_file():
            raise Refused(f"{name} was not received")
        now = self.core.clock.now()
        import_id = await catalogue_import.start_import(self.core.sessionmaker, now, name, call.session.token_hash)
        # One number for every file of the session's package: a split package's sweep knows what it mentioned.
        stamp = int(call.session.data.get("stamp") or import_id)
        split = "___" in path.stem
        await self._remember(call.session, stamp=stamp)
        task = asyncio.create_task(self._run(call.session, path, import_id, stamp, split), name=f"1c-import-{name}")
        self._imports[import_id] = task
        task.add_done_callback(lambda _t: self._imports.pop(import_id, None))
        return import_id

    async def _run(self, session: ExchangeSession, path: Path, import_id: int, stamp: int, split: bool) -> None:
        try:
            result = await import_files(
                self.core.sessionmaker, self.core.clock, [path], import_id=import_id, stamp=stamp, sweep=not split
            )
        except Exception:
            log.exception("1C exchange: the import of %s failed", path.name)
            return
        if split and result.sweeps:
            async with self.core.sessionmaker() as db:
                current = await onec_sessions.find_by_hash(db, session.token_hash)
                pending = set(current.data.get("sweep", [])) if current else set()
            await self._remember(session, sweep=sorted(pending | result.sweeps))

    async def _orphan(self, import_id: int) -> str:
        """A running import this worker did not start: another worker's, or one whose worker died."""
        async with self.core.sessionmaker() as session, session.begin():
            beat = await catalogue_import.heartbeat(session, import_id)
            if beat is not None and self.core.clock.now() - beat < STALE:
                return "progress\nthe import goes on"
            await catalogue_import.fail_stale(
                session, import_id, "the import stopped; send the package again", self.core.clock.now()
            )
        return "failure\nthe import stopped; send the package again"

    async def deactivate(self, call: Call) -> str:
        async with self.core.sessionmaker() as db:
            current = await onec_sessions.find_by_hash(db, call.session.token_hash)
        data = current.data if current is not None else {}
        kinds, stamp = set(data.get("sweep", [])), data.get("stamp")
        if kinds and stamp:
            counts = await finish_sweep(self.core.sessionmaker, self.core.clock, int(stamp), kinds)
            await self._remember(call.session, sweep=[])
            return f"success\n{_summary(counts)}"
        return "success\nnothing to deactivate"

    async def complete(self, call: Call) -> str:
        return "success"

    async def _remember(self, row: ExchangeSession, **values: object) -> None:
        async with self.core.sessionmaker() as session, session.begin():
            current = await onec_sessions.find_by_hash(session, row.token_hash)
            if current is not None:
                onec_sessions.remember(current, **values)
                row.data = dict(current.data)


def _basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    login, _, password = decoded.partition(":")
    return login, password


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "nothing"


def _answer(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/plain", charset="utf-8")
