"""`konveyer demo`: the sandbox, the bot, the scheduler and an SQLite file in one process.

Seeds one sandbox person per role of every process in the library (their label is the role) plus an
admin, registers them with the bot, and keeps everything between runs (the database and the sandbox's
chat history live in the data directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.application import App
from app.settings import Settings
from db.models import User
from flows.loader import load_library
from integrations.onec.importer import import_files
from sandbox.server import SandboxServer
from services import catalogue, companies, people
from services.access import EXTERNAL_ROLES
from services.core import Core

log = logging.getLogger(__name__)

ADMIN_TG_ID = 100

# Demo people get a name that says who they are; roles not listed here show their key.
ROLE_NAMES = {
    "shop_manager": "Марина, менеджер магазина",
    "shop_admin": "Ольга, администратор магазина",
    "director": "Пётр, директор",
    "service_manager": "Сергей, сервис-менеджер",
    "warehouse_head": "Иван, начальник склада",
    "accountant": "Анна, бухгалтер",
    "sales_manager": "Антон, менеджер по продажам",
    "commercial_director": "Кирилл, коммерческий директор",
    "deputy_director": "Дмитрий, заместитель директора",
    "production_head_1": "Павел, начальник производства 1",
    "production_head_2": "Роман, начальник производства 2",
    "logistics_head": "Лев, начальник логистики",
    "production_manager": "Маргарита, менеджер производства",
    "general_director": "Григорий, генеральный директор",
    "finance_director": "Фаина, финансовый директор",
    "lawyer": "Юлия, юрист",
    "security_head": "Семён, начальник СБ",
    "operator": "Олег, оператор",
    "account_manager": "Алина, аккаунт-менеджер",
    "warehouse_worker": "Тимур, кладовщик",
    "logistics": "Лиана, логист",
    # Seed 4's office roles, each once more besides the office seeded below (the person is named, not shown by the
    # role's key). A dealer's roles are not here: they come only with a dealer (`DEALERS`).
    "representative": "Раиса, представитель",
    "rep_service": "Родион, сервисник представителя",
    "regional_rep": "Ренат, региональный представитель (без региона)",
}


# Seed 4: two dealers with their people, and the representative office that works with them.
@dataclass(frozen=True)
class DemoDealer:
    name: str
    details: dict[str, str]  # as `/org_new` takes them
    people: list[tuple[str, str]]  # (role, name)


DEALERS = [
    DemoDealer(
        "ООО «Сад и Парк»",
        {
            "region": "Москва",
            "inn": "7701234560",
            "kpp": "770101001",
            "price": "Дилерская",
            "contacts": "+7 495 000-00-01",
        },
        [("dealer_manager", "Дина, менеджер дилера «Сад и Парк»"), ("dealer_staff", "Дамир, сотрудник «Сад и Парк»")],
    ),
    DemoDealer(
        "ИП Инструментов",
        {"region": "Казань", "inn": "165500000016", "price": "Оптовая", "contacts": "+7 843 000-00-02"},
        [("dealer_manager", "Игорь, менеджер дилера «Инструментов»"), ("dealer_service", "Ильдар, сервисник дилера")],
    ),
]
REPRESENTATIVES = [
    ("representative", "Роза, представитель", None),
    ("rep_service", "Рустам, сервисник представителя", None),
    ("regional_rep", "Регина, региональный представитель (Москва)", "Москва"),
]


def demo_user_id(role: str) -> int:
    """Stable across runs, so the same sandbox person keeps the same chat and bot account."""
    return 200_000 + zlib.crc32(role.encode()) % 700_000


def panel_token(data_dir: Path) -> str:
    """The demo's admin-panel token, made once and kept with the demo's data."""
    path = data_dir / "admin_token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(18), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def lead_forms(library: Path) -> list[str]:
    """The web forms the library's definitions take leads from (seed 5's site form)."""
    return sorted({lead.form for loaded in load_library(library).values() for lead in loaded.spec.leads})


def lead_tokens(data_dir: Path, forms: list[str]) -> dict[str, str]:
    """A token per lead form, made once and kept with the demo's data (the demo's form page carries it)."""
    tokens = {}
    for form in forms:
        path = data_dir / f"lead_token_{form}"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(18), encoding="utf-8")
        tokens[form] = path.read_text(encoding="utf-8").strip()
    return tokens


ONEC_LOGIN = "1c"


def onec_password(data_dir: Path) -> str:
    """The password 1C logs in with to the demo's exchange, made once and kept with the demo's data."""
    path = data_dir / "onec_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


# Seed 4's catalogue as 1C sends it (CommerceML 2.08, `import.xml` then `offers.xml`): garden machinery and parts in
# six groups, the dealers' three price types (each demo dealer buys at one of them), stock in two warehouses — so a
# dealer can search, open a product, fill a cart and send an order request from the first run.
DEMO_CATALOGUE = Path(__file__).with_name("demo_catalogue")


async def seed_catalogue(core: Core) -> int:
    """Loads the demo's catalogue into an empty one (a catalogue 1C's exchange or `konveyer catalog import` filled
    is left alone); returns how many products the catalogue holds."""
    async with core.sessionmaker() as session:
        products = (await catalogue.stats(session))["products"]
    if products:
        return products
    files = [DEMO_CATALOGUE / "import.xml", DEMO_CATALOGUE / "offers.xml"]
    return (await import_files(core.sessionmaker, core.clock, files)).counts.get("products", 0)


def demo_roles(core: Core) -> list[str]:
    """One person per role of the library's processes — but a dealer's roles, which are given only with a dealer's
    organisation (`seed_dealers`): one outside every dealer would be no dealer's staff and see nothing."""
    roles = {role for loaded in core.registry.library.values() for role in loaded.spec.roles}
    return sorted(roles - set(EXTERNAL_ROLES))


async def seed(core: Core, sandbox: SandboxServer) -> list[tuple[int, str, str]]:
    """Create the demo people in the sandbox and in the bot's database; returns (id, name, label)."""
    people_list: list[tuple[int, str, str]] = [(ADMIN_TG_ID, "Админ", "admin")]
    people_list += [(demo_user_id(role), ROLE_NAMES.get(role, role), role) for role in demo_roles(core)]
    now = core.clock.now()
    async with core.sessionmaker() as session, session.begin():
        for tg_id, name, label in people_list:
            sandbox.state.upsert_user(user_id=tg_id, first_name=name, username=label, language_code="ru", label=label)
            user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalar_one_or_none()
            if user is None:
                user = await people.register(
                    session, tg_id=tg_id, name=name, username=label, language="ru", now=now, is_admin=label == "admin"
                )
            if label != "admin":
                await people.grant(session, user.id, [label])
        people_list += await seed_dealers(session, sandbox, now)
    return people_list


async def seed_dealers(session: AsyncSession, sandbox: SandboxServer, now: datetime) -> list[tuple[int, str, str]]:
    """Seed 4: two dealer organisations with their people bound to them, and the representative office."""
    seeded: list[tuple[int, str, str]] = []

    async def person(key: str, name: str, role: str) -> User:
        tg_id = demo_user_id(key)
        sandbox.state.upsert_user(user_id=tg_id, first_name=name, username=key, language_code="ru", label=role)
        user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalar_one_or_none()
        if user is None:
            user = await people.register(session, tg_id=tg_id, name=name, username=key, language="ru", now=now)
        await people.grant(session, user.id, [role])
        seeded.append((tg_id, name, role))
        return user

    regional: dict[str, int] = {}  # a region's regional representative
    for role, name, region in REPRESENTATIVES:
        rep = await person(f"office_{role}", name, role)
        rep.region = region
        if role == "regional_rep" and region:
            regional[region] = rep.id
    for number, dealer in enumerate(DEALERS, 1):
        found = [c for c in await companies.listed(session, "dealer") if c.name == dealer.name]
        if found:
            org = found[0]
        else:
            org = await companies.create_organisation(session, "dealer", dealer.name, None, now, dealer.details)
            # Its card names its region's representative: its order requests are theirs (`organisation:regional_rep`).
            org.regional_rep_id = regional.get(dealer.details.get("region", ""))
        for role, name in dealer.people:
            (await person(f"dealer{number}_{role}", name, role)).organisation_id = org.id
    return seeded


async def run_demo(
    *,
    port: int = 8080,
    database_url: str | None = None,
    data_dir: Path = Path("data"),
    stop: asyncio.Event | None = None,
) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    sandbox = SandboxServer(state_path=data_dir / "sandbox" / "state.json")
    base = await sandbox.start(port=port)
    settings = Settings(
        api_base=base,
        data_dir=data_dir,
        database_url=database_url,
        admin_ids=[ADMIN_TG_ID],
        scheduler_interval=5.0,
        admin_port=port + 1,
        admin_token=SecretStr(panel_token(data_dir)),
        leads_port=port + 2,
        leads_page_token=True,
        onec_login=ONEC_LOGIN,
        onec_password=SecretStr(onec_password(data_dir)),
    )
    settings.lead_tokens = lead_tokens(data_dir, lead_forms(settings.library_dir))
    app = App(settings, freeze_heap=True)
    await app.start()
    assert app.core is not None
    people_list = await seed(app.core, sandbox)
    products = await seed_catalogue(app.core)
    print(f"\nKonveyer demo is running: open {base}/ in a browser and pick a person.\n")
    print(f"Admin panel: http://127.0.0.1:{port + 1}/admin/?token={panel_token(data_dir)}")
    for form in settings.lead_tokens:
        print(f"Lead form «{form}» (the site's form; posts create deals): http://127.0.0.1:{port + 2}/leads/{form}")
    print(
        f"1C exchange (in 1C: site exchange, CommerceML 2): http://127.0.0.1:{port + 2}/1c/exchange"
        f"  login {ONEC_LOGIN}  password {onec_password(data_dir)}"
    )
    print(f"Catalogue: {products} products (the demo's own until 1C's exchange sends one)")
    print(f"Database: {settings.resolved_database_url()}")
    print("People (sandbox id, name, role) — open a person's chat directly with ?user=ID:")
    for tg_id, name, label in people_list:
        print(f"  {tg_id:>7}  {name:<36} {label}")
    print("\nStop with Ctrl+C.")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await app.stop()
        await sandbox.stop()
    return 0
