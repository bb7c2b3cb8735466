"""Settings of notifications, read from ``KEEPWELL_*`` variables (and ``.env``).

The server and the workers must share ``KEEPWELL_SECRET_KEY``: it signs the unsubscribe
links a worker writes and the server checks.
"""

from __future__ import annotations

from pydantic import NonNegativeInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development secret of the server (keepwell.web.settings), used when none is set.
DEVELOPMENT_SECRET = "keepwell-development-secret-do-not-use-in-production"


class NotifySettings(BaseSettings):
    """SMTP (``smtp_*``), the Slack incoming webhook, the outbound webhook and its HMAC
    secret, the public ``base_url`` of unsubscribe links, and the delivery policy:
    ``max_attempts`` per notification, retry after ``retry_base_seconds`` x 2^(n-1)
    seconds (at most ``retry_max_seconds``), a claim older than ``claim_lease_seconds``
    is taken to be a crashed worker's, and at most one tech-touch email per contact per
    ``tech_touch_cap_days`` days. Sending limits of email: at most ``email_daily_cap``
    per UTC day and ``email_domain_rate`` per minute to one recipient domain
    (``email_domain_rates``, JSON, overrides it per domain); 0 = no limit; an email
    over a limit waits for the next window."""

    model_config = SettingsConfigDict(env_prefix="KEEPWELL_", env_file=".env", extra="ignore")

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
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    max_attempts: int = 5
    retry_base_seconds: int = 60
    retry_max_seconds: int = 3600
    claim_lease_seconds: int = 600
    tech_touch_cap_days: int = 7
    email_daily_cap: NonNegativeInt = 0
    email_domain_rate: NonNegativeInt = 0
    email_domain_rates: dict[str, NonNegativeInt] = {}
