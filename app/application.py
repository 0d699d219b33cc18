"""Assembly: the bot, its dispatcher, the outbox sender and the scheduler, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import Any, Final
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import BotCommand
from aiohttp import web

from admin.panel import AdminPanel
from app.container import build_core, sms_gateway, smtp_config
from app.lazy_models import build_update_model
from app.settings import SANDBOX_TOKEN, Settings
from flows.clock import Clock
from handlers import routers
from handlers.common import PrivateChat
from integrations.email import Mailer
from integrations.onec.exchange import Exchange
from integrations.onec_sale import SaleExchange
from integrations.sms import SmsRu, callback_app
from integrations.webforms import LeadEndpoint
from scheduler.runner import Scheduler
from services import attention, sms
from services.cases.documents import DocumentJobs
from services.core import Core
from services.delivery import OutboxSender, RawSendMessage
from services.leads import Leads
from tgbot.dispatcher import UpdateDispatcher
from tgbot.inbox import InboxProcessor
from tgbot.middlewares import DbSessionMiddleware, ServicesMiddleware
from tgbot.miniapp import MiniApp
from tgbot.receive import Poller, RawGetUpdates, loads_without_nul, webhook_handler

log = logging.getLogger(__name__)


def _response_models() -> list[type[Response[Any]]]:
    """`Response[T]` for every result type of the Bot API, built once and held for the process's life.

    aiogram parametrises `Response[method.__returning__]` on every call, and pydantic keeps generic
    parametrisations only weakly: once the garbage collector has run, the next call rebuilds the model and
    its validator (12% of the bot's CPU in the bench profile). A strong reference keeps pydantic's cache
    warm. All ~40 result types cost about 2 MB and 0.15 s once, and no method can miss the cache.
    """
    returning: dict[str, Any] = {}
    for name in dir(methods):
        cls = getattr(methods, name)
        if isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod:
            returning.setdefault(repr(cls.__returning__), cls.__returning__)
    for raw in (RawSendMessage, RawGetUpdates):  # ours: sendMessage and getUpdates answered as plain JSON
        returning.setdefault(repr(raw.__returning__), raw.__returning__)
    return [Response[result] for result in returning.values()]  # type: ignore[valid-type]


RESPONSE_MODELS: Final = _response_models()


def build_dispatcher(core: Core) -> Dispatcher:
    # No aiogram FSM: a form's state is the person's row and the task's draft (tgbot.conversation), so the FSM's
    # per-update context and state read were work for nothing, and its memory storage kept a record per chat for
    # the process's life (200 people: 400 more long-lived objects for every full collection to walk). Updates go
    # straight to the routers (`UpdateDispatcher`).
    dispatcher = UpdateDispatcher()
    # Work happens in private chats: in a group a case card would be shown to everyone there, and
    # people's group messages would be taken for form answers.
    dispatcher.message.filter(PrivateChat())
    dispatcher.callback_query.filter(PrivateChat())
    dispatcher.update.outer_middleware(DbSessionMiddleware(core))
    services = ServicesMiddleware()  # each handler gets the services it names, made when it is chosen
    for name, observer in dispatcher.observers.items():
        if name not in ("update", "error"):
            observer.middleware(services)
    for router in routers():
        dispatcher.include_router(router)
    return dispatcher


def build_bot(settings: Settings) -> Bot:
    token = settings.bot_token.get_secret_value() if settings.bot_token else SANDBOX_TOKEN
    if settings.api_base:
        api = TelegramAPIServer.from_base(settings.api_base.rstrip("/"))
        return Bot(token, session=AiohttpSession(api=api, json_loads=loads_without_nul))
    return Bot(token, session=AiohttpSession(json_loads=loads_without_nul))


async def bot_username(bot: Bot) -> str:
    """For invite links made in the panel (aiogram asks Telegram once and keeps the answer)."""
    return (await bot.me()).username or ""


def settle_heap() -> None:
    """Once the process has started: what exists by now (modules, aiogram's ~300 pydantic models, the mappers, the
    definitions) lives as long as the process, and every full collection walked all of it — 250 ms of the event
    loop on the bench machine, several times a minute under load, in which no update moved (the tail of the
    answer times). Frozen, collections look only at what came after; garbage is collected first.

    What becomes permanent later is frozen as it settles (`SettledHeap`)."""
    gc.collect()
    gc.freeze()
    if not any(isinstance(callback, SettledHeap) for callback in gc.callbacks):
        gc.callbacks.append(SettledHeap())


class SettledHeap:
    """Freezes what a full collection leaves once it has grown past `FREEZE_AT` objects.

    After start-up the bot keeps making objects that live as long as it does: asyncpg's prepared statements and
    their column types per connection, aiogram's per-chat storage records, people in the people cache, the texts'
    caches. The bench counted ~38,000 of them unfrozen after its first round of 200 people, and the collector
    walks all of them at every full collection — one each time the survivors promoted since the last one reach a
    quarter of the last one's survivors, i.e. every few seconds under load: the event loop's longest stalls.

    Right after a full collection everything the collector tracks survived it (it is reachable), so freezing then
    takes no collection of its own. Frozen objects are still freed when their last reference goes; only a cycle
    among them would stay, so the freeze waits until the survivors are many (`FREEZE_AT`): the few hundred
    objects of the updates in flight at that moment are then a small share, and a process whose long-lived set
    has stopped growing freezes nothing more. A process whose long-lived set keeps growing past `MAX_FREEZES`
    freezes (about 300,000 objects) is not one of those: from then on its collections walk what came after, as
    before, so a cycle that dies later is still freed."""

    FREEZE_AT = 20_000
    MAX_FREEZES = 16

    def __init__(self, freeze_at: int = FREEZE_AT) -> None:
        self.freeze_at = freeze_at
        self.freezes = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        if self.freezes < self.MAX_FREEZES and len(gc.get_objects(2)) >= self.freeze_at:
            gc.freeze()
            self.freezes += 1


class App:
    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        scheduler_interval: float | None = None,
        run_scheduler: bool = True,
        handle_updates: bool = True,
        freeze_heap: bool = False,
    ) -> None:
        """`freeze_heap`: `settle_heap` once started — for a process that runs one App for its life (`konveyer
        run`, the demo), not for tests starting many: what a frozen App leaves behind in cycles is never freed."""
        self.settings = settings
        self.freeze_heap = freeze_heap
        self.clock = clock
        self.scheduler_interval = scheduler_interval
        self.run_scheduler = run_scheduler
        self.handle_updates = handle_updates
        self.core: Core | None = None
        self.bot: Bot | None = None
        self.dispatcher: Dispatcher | None = None
        self.sender: OutboxSender | None = None
        self.scheduler: Scheduler | None = None
        self.inbox: InboxProcessor | None = None
        self.poller: Poller | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._panel: web.AppRunner | None = None
        self._webhook: web.AppRunner | None = None
        self._leads: web.AppRunner | None = None
        self._sms_reports: web.AppRunner | None = None
        self.leads: Leads | None = None
        self.exchange: Exchange | None = None

    async def start(self) -> None:
        self.core = core = await build_core(self.settings, self.clock)
        self.bot = bot = build_bot(self.settings)
        self.dispatcher = build_dispatcher(core)
        self.sender = OutboxSender(
            bot,
            core.sessionmaker,
            core.files,
            mailer=Mailer(smtp_config(self.settings)),  # e-mail goes through the same outbox
            documents=DocumentJobs(core).render,  # and so do documents rendered after a step's commit
            on_failed=lambda session, rows: attention.undelivered(core, session, rows),
            sms=(gateway := sms_gateway(self.settings)),  # and SMS
            sms_rate=self.settings.sms_rate,
            sms_retry_base=self.settings.sms_retry_base,
            global_rate=self.settings.outbox_global_rate,
            per_chat_rate=self.settings.outbox_per_chat_rate,
            per_chat_burst=self.settings.outbox_per_chat_burst,
            poll_interval=self.settings.outbox_poll_interval,
        )
        core.on_outbox.append(self.sender.notify)
        core.handing = self.sender
        self.scheduler = Scheduler(core, self.scheduler_interval)
        await self.scheduler.prepare()
        with contextlib.suppress(Exception):  # commands are a convenience; a refusal must not stop the bot
            await bot.set_my_commands(
                [
                    BotCommand(command="start", description="Меню / Menu"),
                    BotCommand(command="help", description="Помощь / Help"),
                    BotCommand(command="tasks", description="Мои задачи / My tasks"),
                    BotCommand(command="cancel", description="Отменить ввод / Cancel the form"),
                    BotCommand(command="lang", description="Язык / Language"),
                    BotCommand(command="diagram", description="Схема процесса / Process diagram"),
                    BotCommand(command="digest", description="Сводка / Digest"),
                ]
            )
        if not self.settings.webhook_url:
            await bot.delete_webhook(drop_pending_updates=False)
        self._tasks.append(asyncio.create_task(self.sender.run(), name="outbox"))
        # Webhook workers may be several behind one balancer, all taking updates from one inbox.
        self.inbox = InboxProcessor(
            core, bot, self.dispatcher, handling=self.handle_updates, shared=bool(self.settings.webhook_url)
        )
        self._tasks.append(asyncio.create_task(self.inbox.run(), name="inbox"))
        if self.settings.webhook_url:
            await self._serve_webhook()
        else:
            self._tasks.append(asyncio.create_task(self._poll(), name="polling"))
        if self.run_scheduler:
            self.scheduler.start()
        if self.settings.admin_token and self.settings.admin_port:
            panel = AdminPanel(core, self.settings.admin_token.get_secret_value(), bot_name=lambda: bot_username(bot))
            self._panel = await panel.serve(self.settings.admin_host, self.settings.admin_port)
        if self.settings.leads_port is not None:
            await self._serve_leads(core)
        if isinstance(gateway, SmsRu) and self.settings.sms_callback_port is not None:
            await self._serve_sms_reports(core, gateway)
        build_update_model()  # aiogram builds its models as used (app/lazy_models.py): this one every update needs
        if self.freeze_heap:
            settle_heap()
        log.info("bot started (database %s)", self.settings.resolved_database_url().split("@")[-1])

    async def _serve_webhook(self) -> None:
        """Updates arrive over HTTP; any number of such workers can share one database."""
        assert self.dispatcher is not None and self.bot is not None and self.settings.webhook_url
        if not self.settings.webhook_secret:
            # Without it anyone who can reach the URL could post updates as anyone (press an approver's buttons).
            raise RuntimeError("webhook mode needs WEBHOOK_SECRET (a random string Telegram sends back to us)")
        secret = self.settings.webhook_secret.get_secret_value()
        app = web.Application()
        path = urlsplit(self.settings.webhook_url).path or "/"
        assert self.inbox is not None
        # Telegram gets its 200 only once the update is stored (tgbot.receive), never before.
        app.router.add_post(path, webhook_handler(self.inbox, secret))
        self._webhook = web.AppRunner(app)
        await self._webhook.setup()
        await web.TCPSite(self._webhook, self.settings.webhook_host, self.settings.webhook_port).start()
        await self.bot.set_webhook(self.settings.webhook_url, secret_token=secret, drop_pending_updates=False)
        log.info("webhook mode: listening on %s:%s%s", self.settings.webhook_host, self.settings.webhook_port, path)

    async def _serve_leads(self, core: Core) -> None:
        """The site-facing server: the site's forms post leads here (integrations.webforms), the Mini App for big
        orders is at /app/order (tgbot.miniapp), and 1C exchanges the catalogue and orders at /1c/exchange
        (integrations.onec.exchange) when its login is set."""
        assert self.settings.leads_port is not None and self.bot is not None
        self.leads = Leads(core, self.settings.lead_tokens, self.settings.lead_rate_per_minute)
        root = web.Application()
        root.add_subapp("/leads", LeadEndpoint(core, self.leads, show_token=self.settings.leads_page_token).app())
        root.add_subapp("/app", MiniApp(core, self.bot.token).app())  # initData is signed with the bot's token
        if self.settings.onec_login and self.settings.onec_password:
            self.exchange = Exchange(
                core,
                self.settings.onec_login,
                self.settings.onec_password.get_secret_value(),
                file_limit=self.settings.onec_file_limit,
                zip_files=self.settings.onec_zip,
                import_step=self.settings.onec_import_step,
            )
            SaleExchange(core, self.exchange).register()  # type=sale: orders to 1C, 1C's documents back
            root.add_subapp("/1c", self.exchange.app())
        self._leads = web.AppRunner(root)
        await self._leads.setup()
        await web.TCPSite(self._leads, self.settings.leads_host, self.settings.leads_port).start()
        log.info("leads from web forms on http://%s:%s/leads/", self.settings.leads_host, self.settings.leads_port)

    async def _serve_sms_reports(self, core: Core, gateway: SmsRu) -> None:
        """SMS.ru posts delivery reports here (integrations.sms)."""
        assert self.settings.sms_callback_port is not None
        token = self.settings.smsru_callback_token
        if token is None or len(token.get_secret_value()) < 16:
            raise RuntimeError("SMS_CALLBACK_PORT needs SMSRU_CALLBACK_TOKEN (a random string of 16+ characters)")

        async def record(reports: list[sms.SmsReport]) -> int:
            async with core.sessionmaker() as session, session.begin():
                return await sms.record_reports(session, reports)

        self._sms_reports = web.AppRunner(callback_app(gateway, record, token.get_secret_value()))
        await self._sms_reports.setup()
        host, port = self.settings.sms_callback_host, self.settings.sms_callback_port
        await web.TCPSite(self._sms_reports, host, port).start()
        log.info("SMS.ru delivery reports on http://%s:%s/sms/smsru/…", host, port)

    async def _poll(self) -> None:
        assert self.inbox is not None and self.bot is not None
        self.poller = Poller(self.bot, self.inbox, timeout=10, allowed=self.dispatcher_updates())
        await self.poller.run()

    def dispatcher_updates(self) -> list[str]:
        assert self.dispatcher is not None
        return self.dispatcher.resolve_used_update_types()

    async def stop(self) -> None:
        if self._panel is not None:
            await self._panel.cleanup()
            self._panel = None
        if self._leads is not None:
            await self._leads.cleanup()
            self._leads = None
        if self._sms_reports is not None:
            await self._sms_reports.cleanup()
            self._sms_reports = None
        if self._webhook is not None:
            await self._webhook.cleanup()  # the other workers keep serving; the webhook stays set
            self._webhook = None
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.poller is not None:
            self.poller.stop()
        if self.inbox is not None:
            await self.inbox.stop()
        if self.sender is not None:
            self.sender.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        self._tasks.clear()
        if self.bot is not None:
            await self.bot.session.close()
        if self.core is not None:
            await self.core.close()
