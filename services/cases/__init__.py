"""Cases: persistence (`store`), the commands (`service`, put together from a module per concern), and what their
effects do (`effects`, `documents`, `items`, `calls`)."""

from services.cases import calls as _calls  # noqa: F401  (registers the sub-process effect handlers)
from services.cases import documents as _documents  # noqa: F401  (registers the document effect handlers)
from services.cases import items as _items  # noqa: F401  (registers the item track effect handlers)
from services.cases.service import CaseService, TaskTaken
from services.cases.state import Loaded, case_state, load_work, task_state

__all__ = ["CaseService", "Loaded", "TaskTaken", "case_state", "load_work", "task_state"]
