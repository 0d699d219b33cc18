"""Settings from the environment (and a .env file), loaded once and passed down."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"
# The bot token the sandbox accepts (the demo, `konveyer sandbox`, the drill); Telegram needs a real BOT_TOKEN.
SANDBOX_TOKEN = "123456:SANDBOX-konveyer-demo-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    # A Telegram Bot API server other than Telegram's (the sandbox, or a local telegram-bot-api).
    api_base: str | None = None
    database_url: str | None = None
    data_dir: Path = Path("data")
    library_dir: Path = LIBRARY
    # Webhook mode (several workers behind a load balancer): Telegram posts updates to WEBHOOK_URL, this
    # process listens on WEBHOOK_HOST:WEBHOOK_PORT at the URL's path. Without it the bot polls.
    webhook_url: str | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: SecretStr | None = None
    # E-mail (to people outside Telegram, e.g. a supplier's contact): delivered through the outbox.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    # SMS (services/sms.py), delivered through the outbox: SMS_PROVIDER=smsru with SMSRU_API_ID (and SMS_SENDER, a
    # sender name approved by SMS.ru). Off without a provider: a kind switched to SMS then fails, visibly.
    sms_provider: str | None = None
    smsru_api_id: SecretStr | None = None
    smsru_url: str = "https://sms.ru"
    sms_sender: str | None = None
    sms_rate: float = 5.0  # SMS a second at most, in total
    sms_retry_base: float = 5.0  # seconds before the first retry while the gateway is down; doubled each time
    # SMS.ru's delivery reports: POST /sms/smsru/<SMSRU_CALLBACK_TOKEN> on SMS_CALLBACK_HOST:SMS_CALLBACK_PORT
    # (set that URL as the callback in SMS.ru's settings). Without it, reports are asked for by status.
    sms_callback_port: int | None = None
    sms_callback_host: str = "0.0.0.0"
    smsru_callback_token: SecretStr | None = None
    # The web panel (/admin/) is served when both are set; open it once with ?token=….
    admin_token: SecretStr | None = None
    admin_port: int | None = None
    admin_host: str = "127.0.0.1"
    # Telegram ids of the first admins; everyone else joins by invite.
    admin_ids: list[int] = Field(default_factory=list)

    # Leads from the web site's forms: POST /leads/<form> on LEADS_HOST:LEADS_PORT, served when a port is set.
    # LEAD_TOKENS is JSON: {"site": "a long random token"} — one per form a definition's `leads:` names.
    leads_port: int | None = None
    leads_host: str = "127.0.0.1"
    lead_tokens: dict[str, str] = Field(default_factory=dict)
    lead_rate_per_minute: int = 30  # submissions of one form a minute; more are refused (429)
    leads_page_token: bool = False  # the demo's page at GET /leads/<form> carries the token

    # 1C's exchange (CommerceML 2) at /1c/exchange on the same site-facing server (LEADS_PORT), served when both
    # are set: 1C logs in with them (HTTP Basic). Files up to ONEC_FILE_LIMIT bytes a chunk; zip archives accepted
    # unless ONEC_ZIP=false; a `mode=import` call waits up to ONEC_IMPORT_STEP seconds before answering `progress`.
    onec_login: str | None = None
    onec_password: SecretStr | None = None
    onec_file_limit: int = 16 * 1024 * 1024
    onec_zip: bool = True
    onec_import_step: float = 20.0

    # The Mini App for big orders is served at /app/order on the same site-facing server (LEADS_PORT); Telegram
    # opens only HTTPS, so WEBAPP_URL is its public address (behind the TLS proxy), e.g.
    # https://shop.example.com/app/order. Without it the chat shows no «🛒 Большой заказ» button.
    webapp_url: str | None = None

    @field_validator("webapp_url")
    @classmethod
    def _https_only(cls, url: str | None) -> str | None:
        # Telegram refuses a message whose web_app button is not HTTPS: the cart would not be shown at all.
        if url and not url.startswith("https://"):
            raise ValueError("WEBAPP_URL must be an https:// address (Telegram opens Mini Apps over HTTPS only)")
        return url or None

    timezone: str = "Europe/Moscow"
    country: str = "RU"
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    default_language: str = "ru"

    # Digests (services/digests/): people with these roles get one without asking, at `digest_time` on working
    # days (each person changes theirs with /digest); a stage without task deadlines (or with only ones already past
    # when the case came) counts as stuck after `stage_norm_days` working days.
    digest_roles: list[str] = Field(default_factory=lambda: ["director"])
    digest_time: time = time(9, 0)
    stage_norm_days: int = 3
    draft_ttl_days: int = 7  # a request started this long ago and never finished is closed (its author is told)
    scheduler_interval: float = 5.0  # seconds between ticks of the timer clock
    outbox_global_rate: float = 30.0  # Telegram: about 30 messages a second in total
    outbox_per_chat_rate: float = 1.0  # and about one a second in one chat
    # Telegram tolerates short bursts in a chat (the sandbox allows 3); one less leaves room for network jitter.
    outbox_per_chat_burst: int = 2
    outbox_poll_interval: float = 0.2
    # The case search (services/case_search.py) writes the words of changed cases about 1.5 ms a case. A search
    # writes at most CASE_SEARCH_BOUND of the newest itself, so the request stays within a second or two; the
    # scheduler's tick writes CASE_SEARCH_TICK_BOUND, fewer: it runs beside people's updates, and on SQLite its
    # transaction holds the write lock (~0.4 s a tick; 100,000 cases in about half an hour of ticks). A faster
    # machine may take more; either way the search says how many cases wait.
    case_search_bound: int = Field(default=1_000, ge=1)
    case_search_tick_bound: int = Field(default=250, ge=1)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'konveyer.sqlite3').resolve()}"
