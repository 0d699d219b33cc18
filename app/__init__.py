"""The composition root. Importing it first makes aiogram build its models as they are used (app/lazy_models.py)."""

from app.lazy_models import defer_aiogram_models

defer_aiogram_models()
