"""Process diagrams: a definition → Graphviz DOT → SVG (the panel) or PNG (the chat).

Every stage is a box with its tasks and who does them (role labels), deadlines and escalations, waits and
parallel blocks; arrows carry the conditions in words; sub-process calls and hand-offs are boxes of their own.
Node ids are opaque (`stage3`, `task3_1`), so no key of the definition reaches a person even in the SVG's
markup. Rendering runs the `dot` binary, which takes a while on a big process: callers on the event loop use
`render_async` (a thread)."""

from __future__ import annotations

import asyncio
import html
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

import graphviz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Definition
from flows.i18n import _
from flows.model import LocalText, ProcessDef, StageDef, StartAction, TaskDef
from flows.runtime import START_TASK, EngineError
from flows.status import CaseStatus
from services import access
from services.cases import CaseService
from services.core import Core
from services.definitions import processes_named
from services.words import DefinitionWords

FONT = "DejaVu Sans"  # Debian's graphviz finds it; it has Cyrillic
WRAP = 42  # characters per line in a box
CURRENT = {"style": "rounded,filled,bold", "fillcolor": "#ffe082", "color": "#e65100", "penwidth": "3"}
"""How the case's current stage is drawn (a test reads these attributes off the DOT)."""
MAX_SIDE_INCHES = "26,26"  # at 96 dpi at most ~2500 px a side: within what Telegram takes as a photo
PNG_DPI = "96"


def stage_node(index: int) -> str:
    return f"stage{index}"


START_NODE = "start"


def _cell(text: str, *, bold: bool = False, muted: bool = False, indent: bool = False) -> str:
    lines = textwrap.wrap(text, WRAP) or [""]
    body = "<BR ALIGN='LEFT'/>".join(html.escape(line) for line in lines) + "<BR ALIGN='LEFT'/>"
    if bold:
        body = f"<B>{body}</B>"
    if muted:
        body = f"<FONT COLOR='#555555' POINT-SIZE='10'>{body}</FONT>"
    pad = "&nbsp;&nbsp;&nbsp;" if indent else ""
    return f"<TR><TD ALIGN='LEFT' BALIGN='LEFT'>{pad}{body}</TD></TR>"


def _label(rows: list[str]) -> str:
    return "<<TABLE BORDER='0' CELLBORDER='0' CELLSPACING='1' CELLPADDING='2'>" + "".join(rows) + "</TABLE>>"


def _edge_label(text: str) -> str:
    return "\n".join(textwrap.wrap(text, 32))


class ProcessDiagram:
    """Builds the DOT graph of one definition in one language."""

    def __init__(self, words: DefinitionWords) -> None:
        self.words = words
        self.spec = words.spec
        self.index = {stage.key: i for i, stage in enumerate(self.spec.stages)}

    def graph(self, current: str | None = None) -> graphviz.Digraph:
        """`current`: the stage to highlight (a case's), or START_TASK for a request still being filled in."""
        w = self.words
        dot = graphviz.Digraph(name="process", format="svg")
        dot.attr("graph", rankdir="TB", fontname=FONT, label=w.local(self.spec.title), labelloc="t", fontsize="18")
        dot.attr("graph", nodesep="0.4", ranksep="0.5")
        dot.attr("node", shape="box", style="rounded", fontname=FONT, fontsize="11", margin="0.12,0.06")
        dot.attr("edge", fontname=FONT, fontsize="10", color="#37474f")
        start_rows = [_cell(w.t("Start"), bold=True)]
        start_rows.append(_cell(w.t("Started by: %(roles)s", roles=w.roles(self.spec.start.roles)), muted=True))
        if self.spec.schedule:
            start_rows.append(_cell(w.t("Also starts by itself on a schedule"), muted=True))
        start_attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": "#e3f2fd"}
        if current == START_TASK:
            start_attrs = dict(CURRENT)
        dot.node(START_NODE, _label(start_rows), **start_attrs)
        begins = w.beginnings()
        for key, ways in begins.items():
            # One stage to begin at: the plain arrow; several (a deal started by hand skips the leads' «Новая»):
            # each arrow says which cases begin there.
            said = {"label": _edge_label(", ".join(ways))} if len(begins) > 1 else {}
            dot.edge(START_NODE, stage_node(self.index[key]), **said)
        for i, stage in enumerate(self.spec.stages):
            self._stage(dot, i, stage, highlighted=stage.key == current)
        return dot

    def _stage(self, dot: graphviz.Digraph, i: int, stage: StageDef, *, highlighted: bool) -> None:
        w = self.words
        rows = [_cell(w.local(stage.title), bold=True)]
        if stage.requires:
            fields = ", ".join(w.quoted(w.field(n)) for n in stage.requires)
            rows.append(_cell(w.t("Needs before entering: %(fields)s", fields=fields), muted=True))
        if stage.wait:
            rows.append(_cell(w.t("Waits until: %(when)s", when=w.deadline(stage.wait)), muted=True))
        if len(stage.tasks) > 1:
            rows.append(_cell(w.t("In parallel; moves on when all are done:"), muted=True))
        for task in stage.tasks:
            rows += self._task(task)
        attrs: dict[str, str] = {}
        if stage.final:
            rows.append(_cell(self._result(stage), muted=True))
            colour = {"success": "#e8f5e9", "failure": "#ffebee"}.get(stage.result or "", "#eeeeee")
            attrs = {"style": "rounded,filled", "fillcolor": colour, "peripheries": "2"}
        if highlighted:
            attrs = {**attrs, **CURRENT}
        node = stage_node(i)
        dot.node(node, _label(rows), **attrs)
        if stage.call is not None:
            child = f"call{i}"
            title = w.t("Sub-process “%(process)s”", process=w.process(stage.call.process))
            dot.node(child, _label([_cell(title, bold=True)]), shape="component", style="filled", fillcolor="#f3e5f5")
            dot.edge(node, child, label=_edge_label(w.t("calls and waits")), style="dashed", dir="both")
        for n, action in enumerate(a for a in stage.on_enter if isinstance(a, StartAction)):
            target = f"handoff{i}_{n}"
            title = w.t("Hands off to “%(process)s”", process=w.process(action.start.process))
            dot.node(target, _label([_cell(title)]), shape="note", style="filled", fillcolor="#fff8e1")
            label = w.t("if %(condition)s", condition=w.condition(action.when)) if action.when else ""
            dot.edge(node, target, label=_edge_label(label), style="dotted")
        self._arrows(dot, node, stage)

    def _task(self, task: TaskDef) -> list[str]:
        w = self.words
        who = w.role(task.assignee, task.for_each)
        rows = [_cell(f"▪ {w.local(task.title)} — {who}")]
        if task.when:
            # A `for_each` task's condition is read per entry: its `item.<field>` is named as the entry's field.
            condition = w.condition(task.when, task.for_each)
            rows.append(_cell(w.t("only if %(condition)s", condition=condition), muted=True, indent=True))
        if task.for_each:
            rows.append(
                _cell(
                    w.t(
                        "one per entry of “%(list)s”, in parallel; %(join)s",
                        list=w.field(task.for_each),
                        join=self._join(task),
                    ),
                    muted=True,
                    indent=True,
                )
            )
        if task.due:
            rows.append(_cell(w.t("due: %(when)s", when=w.deadline(task.due)), muted=True, indent=True))
        if task.escalate_to:
            rows.append(
                _cell(w.t("late: escalates to %(roles)s", roles=w.roles(task.escalate_to)), muted=True, indent=True)
            )
        return rows

    def _join(self, task: TaskDef) -> str:
        w = self.words
        if task.join is None:
            return w.t("moves on when all are done")
        if task.join.any is not None:
            return w.t("moves on as soon as one: %(condition)s", condition=w.condition(task.join.any, task.for_each))
        return w.t("moves on when %(n)s are done", n=task.join.at_least)

    def _result(self, stage: StageDef) -> str:
        w = self.words
        if stage.result == "failure":
            return w.t("End: failure")
        return w.t("End: success") if stage.result == "success" else w.t("End")

    def _arrows(self, dot: graphviz.Digraph, node: str, stage: StageDef) -> None:
        w = self.words
        conditional = any(t.when for t in stage.next)
        for transition in stage.next:
            if transition.when:
                label = w.condition(transition.when)
            else:
                label = w.t("otherwise") if conditional else ""
            dot.edge(node, stage_node(self.index[transition.to]), label=_edge_label(label))
        for move in stage.moves:
            by = w.roles(move.roles) if move.roles else w.t("Responsible")
            title = w.local(move.label) if move.label else w.t("by hand")
            label = w.t("%(move)s (%(who)s)", move=title, who=by)
            dot.edge(node, stage_node(self.index[move.to]), label=_edge_label(label), style="dashed", color="#1565c0")
        for follower in [] if stage.final else w.followers(stage):
            assert follower.follows is not None
            label = _edge_label(w.followed(follower.follows))
            dot.edge(node, stage_node(self.index[follower.key]), label=label, style="dotted", color="#6a1b9a")
        emptied = w.all_cancelled(stage)
        if emptied is not None:
            target, label = emptied
            dot.edge(node, stage_node(self.index[target]), label=_edge_label(label), style="dotted", color="#6a1b9a")


def process_graph(
    core: Core,
    spec: ProcessDef,
    lang: str | None,
    current: str | None = None,
    titles: Mapping[str, LocalText] | None = None,
) -> graphviz.Digraph:
    """The diagram of a definition; `titles`: other processes' titles (default: those loaded now)."""
    specs = core.registry.known()
    known = titles if titles is not None else {key: s.title for key, s in specs.items()}
    words = DefinitionWords(core.wording, spec, lang or core.config.default_language, known, specs)
    return ProcessDiagram(words).graph(current)


def current_stage(status: str, stage: str) -> str | None:
    """What to highlight for a case: a request still being filled in stands at the start; a cancelled case
    stands nowhere."""
    return {CaseStatus.DRAFT: START_TASK, CaseStatus.CANCELLED: None}.get(CaseStatus(status), stage)


def render(graph: graphviz.Digraph, fmt: str) -> bytes:
    """Run `dot` (blocking: call `render_async` from the event loop)."""
    if fmt == "png":
        graph = graph.copy()
        graph.attr("graph", dpi=PNG_DPI, size=MAX_SIDE_INCHES)
    return graph.pipe(format=fmt)


async def render_async(graph: graphviz.Digraph, fmt: str) -> bytes:
    return await asyncio.to_thread(render, graph, fmt)


# --- use cases -----------------------------------------------------------------------------------------------


NO_SUCH_PROCESS = _("There is no such process among those you take part in.")


class UnknownProcess(EngineError):
    """No loaded process has this key (or no such version), or it is not this person's to see."""

    def __init__(self) -> None:
        super().__init__(NO_SUCH_PROCESS)


@dataclass
class Picture:
    file_id: int  # a stored PNG, sent as a photo
    caption: str


class Diagrams:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    def processes(self, viewer: access.Viewer) -> list[tuple[str, str]]:
        """(key, title) of the processes this person may see drawn, by title: the buttons of `/diagram`."""
        lang = viewer.user.language
        specs = [s for s in self.core.registry.known().values() if access.can_see_process(viewer, s)]
        return sorted(((s.process, self.core.translator.local(s.title, lang)) for s in specs), key=lambda p: p[1])

    def find(self, viewer: access.Viewer, words: str) -> list[tuple[str, str]]:
        """The processes (key, title) that the words after `/diagram` name (`processes_named`): one is drawn at once,
        several are offered as buttons."""
        listed = self.processes(viewer)
        named = processes_named(listed, words)
        return [(key, title) for key, title in listed if key in named]

    async def process_picture(self, viewer: access.Viewer, process: str) -> Picture:
        """The process new cases start with, drawn for this person (in their language)."""
        spec = self.core.registry.known().get(process)
        if spec is None or not access.can_see_process(viewer, spec):
            raise UnknownProcess()
        lang = viewer.user.language
        png = await render_async(process_graph(self.core, spec, lang), "png")
        title = self.core.translator.local(spec.title, lang)
        return Picture(await self._store(viewer, png), title)

    async def case_graph(self, viewer: access.Viewer, case_id: int) -> tuple[graphviz.Digraph, str]:
        """The case's process (the version it runs on) with its current stage highlighted, and the caption."""
        loaded = await CaseService(self.core, self.session).visible(viewer, case_id)
        state, lang = loaded.state, viewer.user.language
        current = current_stage(state.status, state.stage)
        graph = process_graph(self.core, state.spec, lang, current=current)
        stage = self.core.wording.stage_title(state.spec, START_TASK if current == START_TASK else state.stage, lang)
        case = self.core.wording.case_name(state, lang)
        return graph, self.core.translator.t("%(case)s — now: %(stage)s", lang, case=case, stage=stage)

    async def case_picture(self, viewer: access.Viewer, case_id: int) -> Picture:
        graph, caption = await self.case_graph(viewer, case_id)
        png = await render_async(graph, "png")
        return Picture(await self._store(viewer, png), caption)

    async def _store(self, viewer: access.Viewer, png: bytes) -> int:
        # Not the case's file: a drawing of its process, made for this person (the outbox sends stored files).
        stored = await self.core.files.add(
            self.session,
            content=png,
            name="diagram.png",
            kind="photo",
            now=self.core.clock.now(),
            case_id=None,
            user_id=viewer.user.id,
            mime_type="image/png",
        )
        return stored.id

    async def version_svg(self, process: str, version: int, lang: str | None) -> bytes:
        """The panel's drawing of one stored version of a process."""
        row = (
            await self.session.execute(
                select(Definition.id).where(Definition.process == process, Definition.version == version)
            )
        ).scalar_one_or_none()
        if row is None:
            raise UnknownProcess()
        spec = await self.core.registry.spec(self.session, row)
        return await render_async(process_graph(self.core, spec, lang), "svg")
