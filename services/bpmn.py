"""BPMN 2.0 export of a definition, with diagram interchange, so a process opens in bpmn.io or Camunda Modeler.

The mapping: a stage's tasks are userTasks (named with the role that does them, the role and deadline in the
documentation); several tasks of a stage sit between a parallel split and join; a `for_each` task is a parallel
multi-instance over its list; `call` is a callActivity; `wait` an intermediate timer; `next` with conditions
leaves through an exclusive gateway (conditionExpression, the unconditional one as the default flow), and so do
hand moves; a deadline that escalates is a non-interrupting boundary timer leading to an escalation end event;
final stages are end events. Positions come from Graphviz's layout of the same graph (`dot -Tjson`)."""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import graphviz
from lxml import etree

from flows.deadlines import DeadlineError, parse_deadline
from flows.loader import load_library
from flows.model import JoinDef, StageDef, TaskDef
from services.i18n import Translator
from services.wording import Wording
from services.words import DefinitionWords

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI}

# Sizes bpmn-js gives these shapes, in pixels.
MARGIN = 40  # pixels around the drawing
SIZES = {"task": (120, 80), "gateway": (50, 50), "event": (36, 36)}
_KIND = {
    "userTask": "task",
    "task": "task",
    "callActivity": "task",
    "exclusiveGateway": "gateway",
    "parallelGateway": "gateway",
    "startEvent": "event",
    "endEvent": "event",
    "intermediateCatchEvent": "event",
}


def _id(*parts: str) -> str:
    """An XML id (NCName) from keys of the definition."""
    return "_".join(re.sub(r"[^A-Za-z0-9_]", "_", part) for part in parts)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def iso_duration(text: str) -> str | None:
    """`5 working days` → P5D, `2 hours` → PT2H: a deadline counted from the task's start as BPMN can say it
    (working days become days: BPMN has no production calendar); None for deadlines tied to dates or weekdays."""
    try:
        deadline = parse_deadline(text)
    except DeadlineError:
        return None
    span = deadline.span
    if deadline.kind != "relative" or deadline.field is not None or deadline.amount_field is not None or span is None:
        return None
    amount = int(span.amount) if float(span.amount).is_integer() else span.amount
    return {"minutes": f"PT{amount}M", "hours": f"PT{amount}H", "days": f"P{amount}D", "weeks": f"P{amount}W"}[
        span.unit
    ]


@dataclass
class _Node:
    id: str
    tag: str  # the BPMN element's local name
    name: str = ""
    element: etree._Element | None = None


@dataclass
class _Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str | None = None


@dataclass
class _Boundary:
    id: str
    task: str  # the task it is attached to
    end: str  # the escalation end event it leads to
    flow: str


@dataclass
class _Model:
    nodes: dict[str, _Node] = field(default_factory=dict)
    flows: list[_Flow] = field(default_factory=list)
    boundaries: list[_Boundary] = field(default_factory=list)


class BpmnExport:
    def __init__(self, words: DefinitionWords) -> None:
        self.words = words
        self.spec = words.spec
        self.model = _Model()
        self.root = etree.Element(etree.QName(BPMN, "definitions"), nsmap=NSMAP)
        self.process = etree.Element(etree.QName(BPMN, "process"))
        self.entry: dict[str, str] = {}  # stage key -> its first node
        self.exit: dict[str, str] = {}  # stage key -> the node its arrows leave from

    # --- elements ---------------------------------------------------------------------------------------------

    def _node(self, tag: str, node_id: str, name: str = "", documentation: list[str] | None = None) -> etree._Element:
        element = etree.SubElement(self.process, etree.QName(BPMN, tag), id=node_id)
        if name:
            element.set("name", name)
        lines = [line for line in documentation or [] if line]
        if lines:
            doc = etree.SubElement(element, etree.QName(BPMN, "documentation"))
            doc.text = "\n".join(lines)
        self.model.nodes[node_id] = _Node(node_id, tag, name, element)
        return element

    def _flow(self, source: str, target: str, name: str = "", condition: str | None = None) -> str:
        flow_id = f"Flow_{len(self.model.flows) + 1}"
        self.model.flows.append(_Flow(flow_id, source, target, name, condition))
        return flow_id

    # --- the process ------------------------------------------------------------------------------------------

    def build(self) -> etree._Element:
        w, spec = self.words, self.spec
        self.root.set("id", _id("Definitions", spec.process))
        self.root.set("targetNamespace", "https://konveyer.local/bpmn")
        self.root.set("exporter", "Konveyer")
        self.root.set("exporterVersion", "1")
        self.process.set("id", _id(spec.process))
        self.process.set("name", w.local(spec.title))
        self.process.set("isExecutable", "true")
        self.root.append(self.process)  # escalations go before it (added while building the stages)
        start = self._node(
            "startEvent", "StartEvent", w.t("Start"), [w.t("Started by: %(roles)s", roles=w.roles(spec.start.roles))]
        )
        for stage in spec.stages:
            self._stage(stage)
        # The start event is a person's start (its documentation names who starts); cases that begin at another
        # stage (a lead waits at «Новая» to be taken, a deal started by hand skips it) have a start event of their
        # own there, each named by who begins where.
        begins = w.beginnings()
        own = spec.start.stage or spec.stages[0].key
        self._flow("StartEvent", self.entry[own])
        if len(begins) > 1:
            start.set("name", _capital(", ".join(begins[own])))
            for key, ways in begins.items():
                if key != own:
                    event = _id("StartEvent", key)
                    self._node("startEvent", event, _capital(", ".join(ways)))
                    self._flow(event, self.entry[key])
        if spec.schedule:
            # The cron line as the timer's cycle (Camunda reads cron there); hand starts stay in the documentation.
            # The clock's cases begin at the first stage: on that stage's start event.
            first = spec.stages[0].key
            clocked = start if first == own else self.model.nodes[_id("StartEvent", first)].element
            assert clocked is not None
            timer = etree.SubElement(clocked, etree.QName(BPMN, "timerEventDefinition"), id="StartEvent_schedule")
            self._timer(timer, "timeCycle", spec.schedule[0].cron)
        for stage in spec.stages:
            self._arrows(stage)
        self._write_flows()
        self._diagram()
        return self.root

    def _stage(self, stage: StageDef) -> None:
        w = self.words
        key, title = stage.key, w.local(stage.title)
        chain: list[str] = []
        if stage.final:
            end = self._node("endEvent", _id("End", key), title, [self._result(stage)])
            self.entry[key] = self.exit[key] = end.get("id", "")
            return
        if stage.wait:
            wait = self._node(
                "intermediateCatchEvent",
                _id("Wait", key),
                w.t("Waits until: %(when)s", when=w.deadline(stage.wait)),
            )
            timer = etree.SubElement(wait, etree.QName(BPMN, "timerEventDefinition"), id=_id("Wait", key, "timer"))
            self._timer(timer, "timeDate", stage.wait)
            chain.append(wait.get("id", ""))
        if stage.call is not None:
            call = self._node(
                "callActivity",
                _id("Call", key),
                w.t("Sub-process “%(process)s”", process=w.process(stage.call.process)),
                [title],
            )
            call.set("calledElement", _id(stage.call.process))
            if stage.call.for_each is not None:
                self._loop(call, _id("Call", key), stage.call.for_each, stage.call.join)
            chain.append(call.get("id", ""))
        elif len(stage.tasks) == 1:
            chain.append(self._task(stage, stage.tasks[0]))
        elif stage.tasks:
            split = self._node("parallelGateway", _id("Split", key), title)
            # `join: {any: …}` decides the stage at the first answer after which its condition holds, and the tasks
            # still open are withdrawn. BPMN's own element for that is a complex gateway's activationCondition,
            # which SpiffWorkflow (and most engines) do not read: the join stays parallel, the condition said on it.
            decides = stage.join.any if stage.join is not None and stage.join.any is not None else None
            said = w.t("Decided at the first answer after which %(condition)s; the other tasks are withdrawn",
                       condition=w.condition(decides)) if decides else ""  # fmt: skip
            join = self._node("parallelGateway", _id("Join", key), said, [said])
            for task in stage.tasks:
                task_id = self._task(stage, task)
                self._flow(split.get("id", ""), task_id)
                self._flow(task_id, join.get("id", ""))
            chain += [split.get("id", ""), join.get("id", "")]
        elif stage.moves or not chain:
            # A pipeline stage moved by hand (or a step that only acts on entry): one activity of its own.
            tag = "userTask" if stage.moves else "task"
            chain.append(self._node(tag, _id("Stage", key), title, self._stage_notes(stage)).get("id", ""))
        for before, after in itertools.pairwise(chain):
            if not (before.startswith("Split_") and after.startswith("Join_")):
                self._flow(before, after)
        self.entry[key], self.exit[key] = chain[0], chain[-1]

    def _stage_notes(self, stage: StageDef) -> list[str]:
        w = self.words
        notes = []
        if stage.moves:
            who = {w.roles(m.roles) if m.roles else w.t("Responsible") for m in stage.moves}
            notes.append(w.t("Moved by hand by: %(who)s", who=", ".join(sorted(who))))
        return notes

    def _task(self, stage: StageDef, task: TaskDef) -> str:
        w = self.words
        who = w.role(task.assignee, task.for_each)
        notes = [w.t("Role: %(role)s", role=who)]
        if task.when:
            notes.append(w.t("only if %(condition)s", condition=w.condition(task.when)))
        if task.due:
            notes.append(w.t("due: %(when)s", when=w.deadline(task.due)))
        if task.escalate_to:
            notes.append(w.t("late: escalates to %(roles)s", roles=w.roles(task.escalate_to)))
        task_id = _id("Task", stage.key, task.key)
        element = self._node("userTask", task_id, f"{w.local(task.title)} ({who})", notes)
        if task.for_each:
            self._loop(element, task_id, task.for_each, task.join)
        if task.due and task.escalate_to:
            self._escalation(stage, task, task_id)
        return task_id

    def _loop(self, element: etree._Element, element_id: str, for_each: str, join: JoinDef | None) -> None:
        """A `for_each` task or call: a parallel multi-instance over the list, with the join as its condition."""
        loop = etree.SubElement(element, etree.QName(BPMN, "multiInstanceLoopCharacteristics"), isSequential="false")
        etree.SubElement(loop, etree.QName(BPMN, "loopDataInputRef")).text = for_each
        etree.SubElement(loop, etree.QName(BPMN, "inputDataItem"), id=_id(element_id, "item"), name="item")
        condition = None
        if join is not None and join.any is not None:
            condition = join.any
        elif join is not None and join.at_least is not None:
            condition = f"nrOfCompletedInstances >= {join.at_least}"
        if condition:
            self._expression(loop, "completionCondition", condition)

    def _escalation(self, stage: StageDef, task: TaskDef, task_id: str) -> None:
        w = self.words
        roles = w.roles(task.escalate_to)
        escalation_id = _id("Escalation", stage.key, task.key)
        escalation = etree.Element(
            etree.QName(BPMN, "escalation"), id=escalation_id, name=roles, escalationCode=escalation_id
        )
        self.process.addprevious(escalation)
        boundary_id = _id("Late", stage.key, task.key)
        boundary = etree.SubElement(
            self.process,
            etree.QName(BPMN, "boundaryEvent"),
            id=boundary_id,
            name=w.t("due: %(when)s", when=w.deadline(task.due or "")),
            attachedToRef=task_id,
            cancelActivity="false",
        )
        timer = etree.SubElement(boundary, etree.QName(BPMN, "timerEventDefinition"), id=_id(boundary_id, "timer"))
        duration = iso_duration(task.due or "")
        self._timer(timer, "timeDuration" if duration else "timeDate", duration or task.due or "")
        end = self._node("endEvent", _id("Escalated", stage.key, task.key), w.t("Escalates to %(roles)s", roles=roles))
        etree.SubElement(
            end,
            etree.QName(BPMN, "escalationEventDefinition"),
            id=_id(escalation_id, "def"),
            escalationRef=escalation_id,
        )
        flow = self._flow(boundary_id, end.get("id", ""))
        self.model.boundaries.append(_Boundary(boundary_id, task_id, end.get("id", ""), flow))

    def _timer(self, definition: etree._Element, kind: str, text: str) -> None:
        self._expression(definition, kind, text)

    def _expression(self, parent: etree._Element, tag: str, text: str) -> None:
        element = etree.SubElement(parent, etree.QName(BPMN, tag))
        element.set(etree.QName(XSI, "type"), "bpmn:tFormalExpression")
        element.text = text

    def _result(self, stage: StageDef) -> str:
        w = self.words
        if stage.result == "failure":
            return w.t("End: failure")
        return w.t("End: success") if stage.result == "success" else w.t("End")

    def _arrows(self, stage: StageDef) -> None:
        w = self.words
        source = self.exit[stage.key]
        if stage.final:
            return
        # A stage that follows its items (or child cases) goes to the other stages following them as the slowest
        # item (or child) moves.
        followers, emptied = w.followers(stage), w.all_cancelled(stage)
        if len(stage.next) == 1 and not stage.next[0].when and not stage.moves and not followers and not emptied:
            self._flow(source, self.entry[stage.next[0].to])
            return
        gateway = self._node("exclusiveGateway", _id("Choice", stage.key))
        gateway_id = gateway.get("id", "")
        self._flow(source, gateway_id)
        for transition in stage.next:
            target = self.entry[transition.to]
            if transition.when:
                self._flow(gateway_id, target, w.condition(transition.when), transition.when)
            else:
                default = self._flow(gateway_id, target, w.t("otherwise") if len(stage.next) > 1 else "")
                gateway.set("default", default)
        for move in stage.moves:
            by = w.roles(move.roles) if move.roles else w.t("Responsible")
            label = w.local(move.label) if move.label else w.t("by hand")
            name = w.t("%(move)s (%(who)s)", move=label, who=by)
            self._flow(gateway_id, self.entry[move.to], name, f"move == '{move.to}'")
        for follower in followers:
            assert follower.follows is not None
            at_least = follower.follows.at_least
            which = "items" if follower.follows.list is not None else "children"
            name = w.followed(follower.follows)
            self._flow(gateway_id, self.entry[follower.key], name, f"{which}_at_least == '{at_least}'")
        if emptied is not None:
            target, name = emptied
            self._flow(gateway_id, self.entry[target], name, "items_left == 0")

    def _write_flows(self) -> None:
        for flow in self.model.flows:
            element = etree.SubElement(
                self.process,
                etree.QName(BPMN, "sequenceFlow"),
                id=flow.id,
                sourceRef=flow.source,
                targetRef=flow.target,
            )
            if flow.name:
                element.set("name", flow.name)
            if flow.condition:
                self._expression(element, "conditionExpression", flow.condition)
            for end, attr in ((flow.source, "outgoing"), (flow.target, "incoming")):
                node = self.model.nodes.get(end)
                holder = node.element if node is not None else self._boundary_element(end)
                if holder is not None:
                    _insert_ref(holder, attr, flow.id)

    def _boundary_element(self, element_id: str) -> etree._Element | None:
        found = self.process.find(f"{{{BPMN}}}boundaryEvent[@id='{element_id}']")
        return found

    # --- diagram interchange ----------------------------------------------------------------------------------

    def _diagram(self) -> None:
        layout = _layout(self.model)
        diagram = etree.SubElement(self.root, etree.QName(BPMNDI, "BPMNDiagram"), id=_id("Diagram", self.spec.process))
        plane = etree.SubElement(
            diagram,
            etree.QName(BPMNDI, "BPMNPlane"),
            id=_id("Plane", self.spec.process),
            bpmnElement=self.process.get("id", ""),
        )
        for node in self.model.nodes.values():
            x, y, width, height = layout.bounds[node.id]
            shape = etree.SubElement(plane, etree.QName(BPMNDI, "BPMNShape"), id=f"{node.id}_di", bpmnElement=node.id)
            if node.tag == "exclusiveGateway":
                shape.set("isMarkerVisible", "true")
            _bounds(shape, x, y, width, height)
        for boundary in self.model.boundaries:
            x, y, width, height = layout.bounds[boundary.task]
            size = SIZES["event"][0]
            bx, by = x + width - size - 8, y + height - size / 2
            shape = etree.SubElement(
                plane, etree.QName(BPMNDI, "BPMNShape"), id=f"{boundary.id}_di", bpmnElement=boundary.id
            )
            _bounds(shape, bx, by, size, size)
            ex, ey, _ew, eh = layout.bounds[boundary.end]
            layout.edges[boundary.flow] = [(bx + size / 2, by + size), (bx + size / 2, ey + eh / 2), (ex, ey + eh / 2)]
        for flow in self.model.flows:
            edge = etree.SubElement(plane, etree.QName(BPMNDI, "BPMNEdge"), id=f"{flow.id}_di", bpmnElement=flow.id)
            for px, py in layout.edges.get(flow.id) or _straight(layout, flow):
                etree.SubElement(edge, etree.QName(DI, "waypoint"), x=_n(px), y=_n(py))


def _insert_ref(holder: etree._Element, attr: str, flow_id: str) -> None:
    """`incoming`/`outgoing` go after documentation and before event definitions and loop characteristics (the
    schema's order)."""
    ref = etree.Element(etree.QName(BPMN, attr))
    ref.text = flow_id
    position = 0
    for index, child in enumerate(holder):
        if etree.QName(child).localname in ("documentation", "extensionElements", "incoming", "outgoing"):
            if attr == "incoming" and etree.QName(child).localname == "outgoing":
                break
            position = index + 1
    holder.insert(position, ref)


def _bounds(shape: etree._Element, x: float, y: float, width: float, height: float) -> None:
    etree.SubElement(shape, etree.QName(DC, "Bounds"), x=_n(x), y=_n(y), width=_n(width), height=_n(height))


def _n(value: float) -> str:
    return str(round(value))


@dataclass
class _Layout:
    bounds: dict[str, tuple[float, float, float, float]]  # id -> x, y, width, height (pixels, y down)
    edges: dict[str, list[tuple[float, float]]]


def _straight(layout: _Layout, flow: _Flow) -> list[tuple[float, float]]:
    sx, sy, sw, sh = layout.bounds.get(flow.source, (0, 0, 0, 0))
    tx, ty, _tw, th = layout.bounds.get(flow.target, (0, 0, 0, 0))
    return [(sx + sw, sy + sh / 2), (tx, ty + th / 2)]


def _layout(model: _Model) -> _Layout:
    """Positions from Graphviz: the same nodes at BPMN's sizes, left to right, read back from `dot -Tjson`."""
    graph = graphviz.Digraph(name="bpmn")
    graph.attr("graph", rankdir="LR", nodesep="0.6", ranksep="0.7", splines="polyline")
    graph.attr("node", shape="box", fixedsize="true", label="")
    for node in model.nodes.values():
        size = SIZES[_KIND[node.tag]]
        graph.node(node.id, width=str(size[0] / 72), height=str(size[1] / 72))
    escalations = {b.flow: b for b in model.boundaries}
    for flow in model.flows:
        if flow.id in escalations:
            graph.edge(escalations[flow.id].task, flow.target, id=flow.id, weight="0")
        else:
            graph.edge(flow.source, flow.target, id=flow.id)
    drawn = json.loads(graph.pipe(format="json"))
    top = float(drawn["bb"].split(",")[3]) + MARGIN  # Graphviz counts y upwards; BPMN downwards
    left = float(MARGIN)
    bounds: dict[str, tuple[float, float, float, float]] = {}
    for obj in drawn.get("objects", []):
        cx, cy = (float(v) for v in obj["pos"].split(","))
        width, height = float(obj["width"]) * 72, float(obj["height"]) * 72
        bounds[obj["name"]] = (left + cx - width / 2, top - cy - height / 2, width, height)
    edges: dict[str, list[tuple[float, float]]] = {}
    for edge in drawn.get("edges", []):
        points, end = [], None
        for part in edge.get("pos", "").split():
            bits = part.split(",")
            if bits[0] == "e":
                end = (float(bits[1]), float(bits[2]))
            elif bits[0] != "s":
                points.append((float(bits[0]), float(bits[1])))
        # A spline's points: every third one lies on the curve (the others steer it).
        on_curve = points[::3] + ([end] if end else [])
        if edge.get("id") not in escalations:
            edges[edge["id"]] = [(left + x, top - y) for x, y in on_curve]
    return _Layout(bounds, edges)


def export_bpmn(words: DefinitionWords) -> bytes:
    """The definition as BPMN 2.0 XML (UTF-8) with its diagram."""
    root = BpmnExport(words).build()
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def export_from_folder(folder: Path, process: str, lang: str = "ru", tz: str = "Europe/Moscow") -> bytes:
    """`konveyer export-bpmn`: a process of a library folder (a hand-off or call names the others there)."""
    library = load_library(str(folder))
    if process not in library:
        raise KeyError(process)
    specs = {key: loaded.spec for key, loaded in library.items()}
    titles = {key: spec.title for key, spec in specs.items()}
    with tempfile.TemporaryDirectory() as compiled:
        wording = Wording(Translator(Path(compiled)), ZoneInfo(tz))
        return export_bpmn(DefinitionWords(wording, library[process].spec, lang, titles, specs))
