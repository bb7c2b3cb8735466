"""Settings of the server, read from ``KEEPWELL_*`` variables (and ``.env``).

Outside development mode the server refuses to start with the default secret key.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from keepwell.core.errors import ConfigurationError
from keepwell.core.settings import Mode

#: The development secret: known to everyone, so refused outside development mode.
DEVELOPMENT_SECRET = "keepwell-development-secret-do-not-use-in-production"
MIN_SECRET_LENGTH = 32


class ServerSettings(BaseSettings):
    """``secret_key`` signs session cookies and CSRF tokens (``KEEPWELL_SECRET_KEY``);
    ``stripe_webhook_secret`` is the Stripe endpoint's ``whsec_...`` secret;
    ``restrict_csm`` limits CSMs to the accounts they own; ``cookie_secure`` sets the
    Secure flag of cookies (turn it off only for plain-HTTP development);
    ``stripe_tolerance`` is the oldest signature accepted, in seconds;
    ``stripe_account_rule`` maps Stripe objects to accounts: ``metadata:KEY`` or
    ``customer`` (the Stripe customer id is the account id);
    ``ingest_queue`` is how many batches may wait for the event writer before the
    server answers 503."""

    model_config = SettingsConfigDict(env_prefix="KEEPWELL_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    stripe_webhook_secret: SecretStr | None = None
    restrict_csm: bool = False
    cookie_secure: bool = True
    session_max_age: int = 14 * 24 * 3600
    stripe_tolerance: int = 300
    stripe_account_rule: str = "metadata:account_id"
    ingest_queue: int = 256
    ingest_wait_seconds: float = 10.0

    def check(self) -> ServerSettings:
        """Raise :class:`ConfigurationError` when a secret is a default outside development."""
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
