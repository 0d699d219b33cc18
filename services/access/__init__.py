"""Who may see or do what: the one package every path asks (chat, `/case`, «my cases», exports, reports,
`notify_cases`, the panel). A new rule about visibility (a dealer sees only their organisation's cases)
goes here and nowhere else.

The rules today:
- an admin sees and may do everything;
- a person sees a case they started, took part in (held or did one of its tasks), or whose process
  names one of their roles; «my cases» lists those they started or took part in and those of the processes they
  are told about as cases go or get a digest of (`told_processes`);
- a process is started by its start roles; a case is cancelled by its initiator;
- the dealer portal offers ordering and reclamations only to dealers' staff who may start them, and the cart
  only to those who may do either; /orders only to the roles the order process names; the catalogue to those who
  work with it (`portal_rights`, `may_browse`);
- a task is acted on by its holder, or, while nobody holds it, by anyone with its role — and only by
  someone still registered and active; its outcome is chosen only by its holder;
- moves and edits follow the definition (the engine's `allowed_moves` and `request_edit` rules);
- an escalation's buttons (reassign, extend the deadline, take over) are pressed only by the people it
  went to (as the audit log recorded them when it was sent) and by admins; a task is reassigned only to an
  active member of its role.

Organisations (seed 4) narrow all of the above, as an AND:
- an external person (a dealer's staff, bound to one organisation) sees and acts on the cases of their own
  organisation only; a task of their role in another dealer's case is not theirs to see, take or be told of;
- someone holding a dealer's role with no organisation (roles are given with one; an old grant may lack it) is of
  no dealer: no organisation's case is theirs;
- a regional representative (a person with a region) sees the cases of organisations in their region, and
  the internal cases (no organisation) by the rules above;
- someone waiting for an admin's approval is inactive: they see nothing.

A case's comment thread is read by whoever may see the case; an internal note (the representative office's
own) is written and read by the internal side only: it never reaches an external person by any path — the
card, a notification, an export (`sees_internal`, `may_read_comment`, `comment_readers`). The decisions on a
case's card (outcome, who, when) are read by all who see it; the words given with one by the internal side, by the
internal side only (`may_read_decision_comment`).
Figures (shipments and sales per dealer) follow the same narrowing, dealers' cases only: `figures_scope`.

Two deliberate scopes outside a person's view: the web panel's token holder is an admin (sees all), and a
report a definition builds into a case covers the process it names (the definition decides who gets it) —
narrowed to the organisation when the case is a dealer's (`report_scope`).

Its parts, one a concern (every path asks `services.access` itself, not a part): `viewer.py` the person as the rules
see them, the refusal and what an admin alone may do; `organisations.py` the organisations' narrowing; `cases.py`
which cases a person sees, and who starts, cancels and edits one; `tasks.py` who acts on a task and presses its
escalation's buttons; `portal.py` what the dealer portal offers; `figures.py` whose figures; `comments.py` who reads
a comment, an internal note and a decision's comment.
"""

from services.access.cases import (
    asks_to_cancel,
    can_cancel,
    can_edit,
    can_see,
    can_see_process,
    can_start,
    case_file,
    led_by,
    led_cases,
    own_case,
    own_cases,
    report_scope,
    require_see,
    roles_may_start,
    startable,
    told_cases,
    told_processes,
    visible_cases,
    visible_tasks,
)
from services.access.comments import (
    comment_readers,
    may_read_comment,
    may_read_decision_comment,
    sees_internal,
)
from services.access.figures import (
    FIGURES_ROLES,
    can_see_figures,
    figures_reach,
    figures_scope,
    roles_see_figures,
)
from services.access.organisations import (
    EXTERNAL_ROLES,
    INTERNAL_ROLES,
    in_organisation_scope,
    is_external,
    may_name_company,
    organisation_scope,
    organisations_own,
    reachable,
)
from services.access.portal import (
    PortalRights,
    may_browse,
    may_start_for_dealer,
    portal_rights,
)
from services.access.tasks import (
    ESCALATED,
    can_act_on_task,
    escalated_to,
    may_act_on_escalation,
    may_hold,
    require_holder,
    task_roles,
)
from services.access.viewer import (
    AccessDenied,
    Viewer,
    can_export,
    can_manage,
    can_retry,
    is_active,
    may_open_mini_app,
    require,
)

__all__ = [
    "ESCALATED",
    "EXTERNAL_ROLES",
    "FIGURES_ROLES",
    "INTERNAL_ROLES",
    "AccessDenied",
    "PortalRights",
    "Viewer",
    "asks_to_cancel",
    "can_act_on_task",
    "can_cancel",
    "can_edit",
    "can_export",
    "can_manage",
    "can_retry",
    "can_see",
    "can_see_figures",
    "can_see_process",
    "can_start",
    "case_file",
    "comment_readers",
    "escalated_to",
    "figures_reach",
    "figures_scope",
    "in_organisation_scope",
    "is_active",
    "is_external",
    "led_by",
    "led_cases",
    "may_act_on_escalation",
    "may_browse",
    "may_hold",
    "may_name_company",
    "may_open_mini_app",
    "may_read_comment",
    "may_read_decision_comment",
    "may_start_for_dealer",
    "organisation_scope",
    "organisations_own",
    "own_case",
    "own_cases",
    "portal_rights",
    "reachable",
    "report_scope",
    "require",
    "require_holder",
    "require_see",
    "roles_may_start",
    "roles_see_figures",
    "sees_internal",
    "startable",
    "task_roles",
    "told_cases",
    "told_processes",
    "visible_cases",
    "visible_tasks",
]
