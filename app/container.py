"""Builds the shared services from the settings: the one place that turns configuration into objects."""

from __future__ import annotations

from app.settings import Settings
from db.engine import is_sqlite, make_engine, make_sessionmaker, migrate
from flows.calendar import WorkCalendar, WorkingHours
from flows.clock import Clock, SystemClock
from flows.runtime import Engine
from integrations.email import SmtpConfig
from integrations.sms import SmsRu
from services.core import Core, ServiceConfig
from services.definitions import Registry
from services.files import FileStore
from services.i18n import Translator
from services.people import DIRECTORY, PeopleDirectory
from services.portal import ORDER_PROCESS
from services.portal_cart import give_back
from services.sms import SmsGateway
from tgbot.notifier import OutboxNotifier
from tgbot.render import Renderer


def service_config(settings: Settings) -> ServiceConfig:
    return ServiceConfig(
        sqlite=is_sqlite(settings.resolved_database_url()),
        library_dir=settings.library_dir,
        data_dir=settings.data_dir,
        timezone=settings.timezone,
        default_language=settings.default_language,
        admin_ids=tuple(settings.admin_ids),
        scheduler_interval=settings.scheduler_interval,
        draft_ttl_days=settings.draft_ttl_days,
        digest_roles=tuple(settings.digest_roles),
        digest_time=settings.digest_time,
        stage_norm_days=settings.stage_norm_days,
        webapp_url=settings.webapp_url,
        case_search_bound=settings.case_search_bound,
        case_search_tick_bound=settings.case_search_tick_bound,
    )


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
    )


def sms_gateway(settings: Settings) -> SmsGateway | None:
    """The SMS gateway the settings name (None: SMS is off)."""
    if not settings.sms_provider:
        return None
    if settings.sms_provider.lower() != "smsru":
        raise ValueError(f"SMS_PROVIDER: unknown provider {settings.sms_provider!r} (known: smsru)")
    api_id = settings.smsru_api_id.get_secret_value() if settings.smsru_api_id else None
    return SmsRu(api_id, sender=settings.sms_sender, base_url=settings.smsru_url)


async def build_core(settings: Settings, clock: Clock | None = None) -> Core:
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(settings.resolved_database_url())
    await migrate(db)
    # Roles and role members cached per process; on PostgreSQL only while LISTENing for other workers' changes.
    directory = PeopleDirectory(live=is_sqlite(settings.resolved_database_url()))
    if not directory.live:
        await directory.listen(db)
    sessionmaker = make_sessionmaker(db, info={DIRECTORY: directory})
    registry = Registry.from_folder(str(settings.library_dir))
    async with sessionmaker() as session, session.begin():
        await registry.sync(session, clock.now())
    calendar = WorkCalendar(
        country=settings.country, tz=settings.timezone, hours=WorkingHours(settings.work_start, settings.work_end)
    )
    translator = Translator(settings.data_dir / "locales", default=settings.default_language)
    renderer = Renderer(translator, calendar.tz, calendar=calendar, clock=clock)
    return Core(
        config=service_config(settings),
        clock=clock,
        db=db,
        sessionmaker=sessionmaker,
        registry=registry,
        calendar=calendar,
        engine=Engine(calendar, clock),
        translator=translator,
        wording=renderer,
        notifier_factory=lambda session, people, now: OutboxNotifier(
            renderer, session, people, now, registry.current_specs, registry
        ),
        files=FileStore(settings.data_dir),
        people=directory,
        draft_dropped={ORDER_PROCESS: give_back},
    )
