"""Versioned churn models in the workspace: ``<workspace>/models/risk/v<N>/`` holds
``model.joblib`` (the fitted :class:`~keepwell.risk.model.ChurnModel`) and ``card.json``
(the model card). Versions only grow; the latest is the one used."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import joblib

from keepwell.core.errors import NotFoundError
from keepwell.risk.model import ChurnModel

MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"
_VERSION = re.compile(r"^v(\d+)$")


def models_dir(root: Path) -> Path:
    """Where the workspace at ``root`` keeps its churn models."""
    return root / "models" / "risk"


def versions(root: Path) -> list[int]:
    """Stored model versions, oldest first."""
    base = models_dir(root)
    if not base.is_dir():
        return []
    found = (_VERSION.match(p.name) for p in base.iterdir() if p.is_dir())
    return sorted(int(m.group(1)) for m in found if m)


def save_model(root: Path, model: ChurnModel, card: dict[str, Any]) -> int:
    """Store ``model`` and ``card`` as the next version; returns its number."""
    number = (versions(root) or [0])[-1] + 1
    folder = models_dir(root) / f"v{number}"
    folder.mkdir(parents=True)
    joblib.dump(model, folder / MODEL_FILE)
    card = {"version": number, **card}
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2, default=str) + "\n")
    return number


def _folder(root: Path, version: int | None) -> Path:
    known = versions(root)
    if not known:
        raise NotFoundError(
            f"no churn model in {models_dir(root)}", hint="run `keepwell risk train` first"
        )
    number = known[-1] if version is None else version
    if number not in known:
        raise NotFoundError(
            f"churn model v{number} does not exist (stored: "
            + ", ".join(f"v{v}" for v in known)
            + ")"
        )
    return models_dir(root) / f"v{number}"


def load_card(root: Path, version: int | None = None) -> dict[str, Any]:
    """The card of model ``version`` (the latest when None)."""
    card: dict[str, Any] = json.loads((_folder(root, version) / CARD_FILE).read_text())
    return card


def load_model(root: Path, version: int | None = None) -> tuple[ChurnModel, dict[str, Any]]:
    """Model ``version`` (the latest when None) and its card."""
    folder = _folder(root, version)
    model = joblib.load(folder / MODEL_FILE)
    if not isinstance(model, ChurnModel):
        raise NotFoundError(f"{folder / MODEL_FILE} does not hold a churn model")
    return model, load_card(root, version)
