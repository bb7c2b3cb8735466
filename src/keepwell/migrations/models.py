"""Every capability's tables on one metadata, for Alembic and the schema tests."""

from __future__ import annotations

import keepwell.contract.models
import keepwell.core.models  # noqa: F401  (registers the workspace tables)
from keepwell.core.database import Base
from keepwell.health import models as health_models  # noqa: F401  (health snapshots)

metadata = Base.metadata

from keepwell.auth import models as auth_models  # noqa: E402, F401  (users, tokens, audit)
from keepwell.ingest import models as ingest_models  # noqa: E402, F401  (sources, stripe)
from keepwell.notify import models as notify_models  # noqa: E402, F401  (outbox, unsubscribes)
from keepwell.success import models as success_models  # noqa: E402, F401  (CTAs, plans)
from keepwell.team import models as team_models  # noqa: E402, F401  (teams, targets, costs)
from keepwell.voice import models as voice_models  # noqa: E402, F401  (surveys, shares, measures)
