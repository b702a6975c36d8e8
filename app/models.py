"""Imports every table module, so that `Base.metadata` knows the whole schema (Alembic, tests)."""

from app.cases import models as case_models
from app.catalog import models as catalog_models
from app.core.db import Base
from app.disposal import models as disposal_models
from app.journal import models as journal_models
from app.kit import idempotency_models
from app.stats import models as stats_models

__all__ = [
    "Base",
    "case_models",
    "catalog_models",
    "disposal_models",
    "idempotency_models",
    "journal_models",
    "stats_models",
]
