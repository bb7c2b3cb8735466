"""The settings of a Keepwell process, read from ``KEEPWELL_*`` environment variables
(and ``.env``): one object for the CLI, the server and the notification workers.

Workspace-level settings that belong to the data (base currency, time zone, fx rates)
live in the operational store instead; see :mod:`keepwell.core.workspace`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from keepwell.core.errors import ConfigurationError


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
    tech-touch email per contact per ``tech_touch_cap_days`` days.
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
