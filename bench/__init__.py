"""`konveyer bench`. Its bot process (bench.botproc) imports aiogram: the composition root first, so aiogram builds its
models as they are used there too, as in `konveyer run` (app/lazy_models.py)."""

import app  # noqa: F401
