"""The settings of a Keepwell process, read from ``KEEPWELL_*`` environment variables
(and ``.env``): one object for the CLI, the server and the notification workers.

Workspace-level settings that belong to the data (base currency, time zone, fx rates)
live in the operational store instead; see :mod:`keepwell.core.workspace`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import NonNegativeInt, PositiveFloat, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from keepwell.core.errors import ConfigurationError
from keepwell.core.schedule import CycleSchedule, parse_every, parse_times


class Mode(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


#: The development secret: known to everyone, so refused outside development mode.
DEVELOPMENT_SECRET = "keepwell-development-secret-do-not-use-in-production"
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Settings of one Keepwell process (``.env.example`` lists every variable).

    Process: ``home`` is the workspace directory (``KEEPWELL_HOME``, default
    ``./.keepwell``). ``database_url`` overrides the workspace's SQLite file, e.g.
    ``postgresql+psycopg://user@host/db``. ``analytics_url`` overrides the workspace's
    DuckDB file (``duckdb:///path/to/file.duckdb``); :func:`keepwell.core.engines.connect`
    also takes ``postgresql://...`` and ``spark://local[2]`` or a Spark master URL
    (docs/deployment.md says which paths use which).

    Secret: ``secret_key`` signs session cookies and CSRF tokens (server) and the
    unsubscribe links of tech-touch emails (workers): the server and the workers must
    share it. :meth:`check` refuses the development secret outside development mode.

    Server: ``stripe_webhook_secret`` is the Stripe endpoint's ``whsec_...`` secret;
    ``restrict_csm`` limits CSMs to the accounts they own; ``cookie_secure`` sets the
    Secure flag of cookies (turn it off only for plain-HTTP development);
    ``session_max_age`` is the session lifetime in seconds; ``stripe_tolerance`` is the
    oldest signature accepted, in seconds; ``stripe_account_rule`` maps Stripe objects
    to accounts: ``metadata:KEY`` or ``customer`` (the Stripe customer id is the account
    id); ``ingest_queue`` is how many batches may wait for the event writer before the
    server answers 503, and ``ingest_wait_seconds`` how long a request waits for its
    batch to be durable.

    Notifications: SMTP (``smtp_*``), the Slack incoming webhook, the outbound webhook
    and its HMAC secret, the public ``base_url`` of unsubscribe links, and the delivery
    policy: ``max_attempts`` per notification, retry after ``retry_base_seconds`` x
    2^(n-1) seconds (at most ``retry_max_seconds``), a claim older than
    ``claim_lease_seconds`` is taken to be a crashed worker's, and at most one
    tech-touch email per contact per ``tech_touch_cap_days`` days. Sending limits of
    email: at most ``email_daily_cap`` per UTC day and ``email_domain_rate`` per minute
    to one recipient domain (``email_domain_rates``, JSON, overrides it per domain);
    0 = no limit; an email over a limit waits, pending, for its next window.

    The cycle: its lease is taken for ``cycle_lease_seconds`` and renewed every
    ``cycle_heartbeat_seconds`` (at most a third of the lease) while a cycle runs; a
    holder that stops renewing is taken over once the lease runs out.

    The server's scheduled cycle (docs/deployment.md, "Process model"): ``cycle_every``
    is the interval between cycles (``KEEPWELL_CYCLE_EVERY``: seconds, or ``15m``, ``1h``,
    ``1d``; wins when set); ``cycle_at`` the times of day in the workspace's time
    zone (``KEEPWELL_CYCLE_AT``, ``06:00`` or ``06:00,18:30``; ``off``: no scheduled
    cycle, e.g. when separate workers run it). ``shutdown_grace`` is how many seconds a
    stopping server waits for a cycle or a command it runs to reach a safe point.
    """

    model_config = SettingsConfigDict(env_prefix="KEEPWELL_", env_file=".env", extra="ignore")

    # process
    home: Path = Path(".keepwell")
    database_url: str | None = None
    analytics_url: str | None = None
    mode: Mode = Mode.DEVELOPMENT
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)

    # server
    stripe_webhook_secret: SecretStr | None = None
    restrict_csm: bool = False
    cookie_secure: bool = True
    session_max_age: int = 14 * 24 * 3600
    stripe_tolerance: int = 300
    stripe_account_rule: str = "metadata:account_id"
    ingest_queue: int = 256
    ingest_wait_seconds: float = 10.0

    # notifications
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_from: str = "keepwell@localhost"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0
    slack_webhook_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_timeout: float = 10.0
    base_url: str = "http://127.0.0.1:8000"
    max_attempts: int = 5
    retry_base_seconds: int = 60
    retry_max_seconds: int = 3600
    claim_lease_seconds: int = 600
    tech_touch_cap_days: int = 7
    email_daily_cap: NonNegativeInt = 0
    email_domain_rate: NonNegativeInt = 0
    email_domain_rates: dict[str, NonNegativeInt] = {}

    # the cycle
    cycle_lease_seconds: PositiveFloat = 45.0
    cycle_heartbeat_seconds: PositiveFloat = 10.0
    cycle_every: str | None = None
    cycle_at: str = "06:00"
    shutdown_grace: float = 60.0

    def check(self) -> Settings:
        """These settings, or :class:`ConfigurationError` when ``secret_key`` is the
        development secret (or shorter than :data:`MIN_SECRET_LENGTH`) outside
        development mode. The server checks at start, a worker before it signs a link."""
        if self.mode is Mode.DEVELOPMENT:
            return self
        key = self.secret_key.get_secret_value()
        if key == DEVELOPMENT_SECRET or len(key) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"KEEPWELL_SECRET_KEY is the default or shorter than {MIN_SECRET_LENGTH} "
                f"characters in {self.mode.value} mode",
                hint='set it to a random value, e.g. python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"',
            )
        return self

    def cycle_schedule(self, timezone: str = "UTC") -> CycleSchedule:
        """The scheduled cycle as configured; :class:`ConfigurationError` when a value
        is unusable."""
        every = parse_every(self.cycle_every)
        return CycleSchedule(every=every, at=parse_times(self.cycle_at), timezone=timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once; a value that cannot be read is a
    :class:`ConfigurationError` naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "KEEPWELL_" + "_".join(str(part) for part in first["loc"]).upper()
        raise ConfigurationError(
            f"{name} {first.get('input')!r}: {first['msg']}",
            hint="fix or unset the variable (or its line in .env)",
        ) from None
