"""aiogram's pydantic models (every Telegram type and method, ~460) built when a model is first used, not all at import.

aiogram marks its types `defer_build`, but `aiogram/types/__init__.py` then calls `model_rebuild` on each of them
with the types' namespace (to resolve the names its modules import only for type checking), and that builds every
model's validator and serializer in pydantic-core's native memory: ~105 MB of the bot process's RSS (aiogram's import
took 154 MB of it) and ~7 s of its start on the bench machine, for the few dozen models a bot meets — an update and
what it holds, the methods it calls. `defer_aiogram_models`, run before aiogram is first imported (`app/__init__.py`),
makes that rebuild record the namespace instead; pydantic builds a model the first time it validates or dumps one
(its deferred build calls `model_rebuild` again), and then with the recorded namespace: the same validators, built
only for what is used. A method's model built when aiogram defined it (before the types had their namespace) is
rebuilt the same way at its first use. tests/test_lazy_models.py holds every model to the schema aiogram builds.

This module imports no aiogram (the catalogue import loads none: tests/test_catalogue_integrity.py)."""

from __future__ import annotations

import inspect
import logging
import sys
from typing import Any

from pydantic import BaseModel

log = logging.getLogger(__name__)

_NAMESPACE: dict[str, Any] = {}  # aiogram's types by name, as `aiogram/types/__init__.py` hands them to model_rebuild


def defer_aiogram_models() -> None:
    """Installs the deferral; nothing to do once aiogram's types are imported (built already) or installed."""
    if "aiogram.types" in sys.modules or getattr(BaseModel.model_rebuild, "_defers_aiogram", False):
        return
    eager = BaseModel.model_rebuild.__func__  # type: ignore[attr-defined]
    if not {"_parent_namespace_depth", "_types_namespace"} <= set(inspect.signature(eager).parameters):
        log.warning("pydantic's model_rebuild has changed: aiogram's models are built at import (more memory)")
        return  # a pydantic that renamed what this relies on: the old memory, never a bot that fails to start

    def model_rebuild(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: dict[str, Any] | None = None,
    ) -> bool | None:
        if not force and not cls.__pydantic_complete__ and cls.__module__.startswith("aiogram."):
            if _types_namespace is not None and cls.__module__.startswith("aiogram.types."):
                _NAMESPACE.update(_types_namespace)  # aiogram's import-time rebuild: record, build at first use
                return None
            if _NAMESPACE:
                _types_namespace = {**_NAMESPACE, **(_types_namespace or {})}
        return eager(
            cls,
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=_parent_namespace_depth + 1,
            _types_namespace=_types_namespace,
        )

    model_rebuild._defers_aiogram = True  # type: ignore[attr-defined]
    BaseModel.model_rebuild = classmethod(model_rebuild)  # type: ignore[assignment, method-assign]


def build_update_model() -> None:
    """Builds `Update` (and what it holds) now: every update is validated into it, and the first person should not
    wait the ~0.5 s it takes. Run at start, before the heap is settled, so it is frozen with the rest."""
    from aiogram.types import Update

    Update.model_rebuild()
