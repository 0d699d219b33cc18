"""`konveyer export-bpmn`: every library process as BPMN 2.0 that SpiffWorkflow's parser reads (and the BPMN
schema accepts), with a shape for every element, so it opens in bpmn.io and Camunda Modeler."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator  # type: ignore[import-untyped]
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (  # type: ignore[import-untyped]
    ParallelMultiInstanceTask,
)

from app.cli import main
from flows.loader import load_library
from flows.model import ProcessDef

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "flows" / "library"
TEST_LIBRARY = ROOT / "tests" / "data"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
PROCESSES = sorted(load_library(str(LIBRARY)))


def export(tmp_path: Path, process: str, *extra: str) -> bytes:
    target = tmp_path / f"{process}.bpmn"
    assert main(["export-bpmn", process, "-o", str(target), *extra]) == 0
    return target.read_bytes()


def parsed(xml: bytes, process: str) -> tuple[BpmnParser, object]:
    parser = BpmnParser(validator=BpmnValidator())  # the BPMN 2.0 schema checks it first
    parser.add_bpmn_str(xml, f"{process}.bpmn")
    return parser, parser.get_spec(process)


@pytest.mark.parametrize("process", PROCESSES)
def test_every_library_process_exports_as_bpmn_spiffworkflow_reads(tmp_path: Path, process: str) -> None:
    spec: ProcessDef = load_library(str(LIBRARY))[process].spec
    xml = export(tmp_path, process)
    parser, workflow = parsed(xml, process)
    assert parser.get_process_ids() == [process]
    names = workflow.task_specs  # type: ignore[attr-defined]

    for stage in spec.stages:
        for task in stage.tasks:
            # Every task is a user task, named with who does it; a for_each is a parallel multi-instance.
            task_spec = names[f"Task_{stage.key}_{task.key}"]
            assert type(task_spec).__name__ in ("UserTask", "ParallelMultiInstanceTask")
            assert isinstance(task_spec, ParallelMultiInstanceTask) == (task.for_each is not None)
        if stage.final:
            assert f"End_{stage.key}" in names

    root = etree.fromstring(xml)
    process_element = root.find("bpmn:process", NS)
    assert process_element is not None
    shaped = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edged = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    for element in process_element:
        local = etree.QName(element).localname
        if local == "sequenceFlow":
            assert element.get("id") in edged
        elif local not in ("documentation", "laneSet"):
            assert element.get("id") in shaped, f"{local} {element.get('id')} has no shape"
    for bounds in root.iterfind(".//dc:Bounds", NS):
        assert float(bounds.get("width", "0")) > 0 and float(bounds.get("x", "-1")) >= 0
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        assert len(edge.findall("di:waypoint", NS)) >= 2


def test_conditions_deadlines_and_parallel_blocks_of_the_deal(tmp_path: Path) -> None:
    xml = export(tmp_path, "meat_deal")
    root = etree.fromstring(xml)
    # Prepaid and postpaid part after the lawyer: an exclusive gateway, the condition on one flow, the other default.
    gateway = root.find(".//bpmn:exclusiveGateway[@id='Choice_lawyer_agreed']", NS)
    assert gateway is not None and gateway.get("default")
    conditions = [c.text for c in root.iterfind(".//bpmn:sequenceFlow/bpmn:conditionExpression", NS)]
    assert "payment_terms == 'prepaid'" in conditions
    # Two tasks at once after the lawyer: between a parallel split and join.
    assert root.find(".//bpmn:parallelGateway[@id='Split_lawyer_agreed']", NS) is not None
    # The shipping stage waits for the planned date: a timer.
    wait = root.find(".//bpmn:intermediateCatchEvent[@id='Wait_accountant_checked']", NS)
    assert wait is not None and wait.find(".//bpmn:timeDate", NS) is not None
    # The lawyer's task names the role (a label, not the key) in its name and documentation.
    lawyer = root.find(".//bpmn:userTask[@id='Task_confirmed_prepare_contract']", NS)
    assert lawyer is not None and "(Юрист)" in lawyer.get("name", "")
    assert "Юрист" in (lawyer.findtext("bpmn:documentation", namespaces=NS) or "")


def test_a_deal_started_by_hand_and_a_lead_each_have_their_start_event(tmp_path: Path) -> None:
    root = etree.fromstring(export(tmp_path, "medical_order"))
    starts = {e.get("id"): e.get("name") for e in root.iterfind(".//bpmn:startEvent", NS)}
    assert starts == {"StartEvent": "Начато вручную", "StartEvent_new": "Заявка с сайта"}, starts
    flows = {(f.get("sourceRef"), f.get("targetRef")) for f in root.iterfind(".//bpmn:sequenceFlow", NS)}
    assert ("StartEvent", "Call_qualification") in flows and ("StartEvent_new", "Task_new_take_lead") in flows


def test_a_stage_decided_by_its_first_answer_says_so_on_its_join(tmp_path: Path) -> None:
    """The medical order's contract approval: the client's refusal or the director's return is enough (`join:
    {any: …}`); its join names that condition in words, where a reader of the diagram looks for it."""
    root = etree.fromstring(export(tmp_path, "medical_order"))
    join = root.find(".//bpmn:parallelGateway[@id='Join_contract_approval']", NS)
    assert join is not None
    said = join.get("name", "")
    assert said.startswith("Решается первым ответом, после которого"), said
    assert "client_answer" not in said and "«Ответ клиента по договору» = «✖️ Клиент отказался» или" in said, said
    assert said == join.findtext("bpmn:documentation", namespaces=NS)
    # A stage that waits for all its tasks keeps a bare join.
    deal = etree.fromstring(export(tmp_path, "meat_deal"))
    plain = deal.find(".//bpmn:parallelGateway[@id='Join_lawyer_agreed']", NS)
    assert plain is not None and not plain.get("name")


def test_a_deadline_that_escalates_is_a_boundary_timer(tmp_path: Path) -> None:
    xml = export(tmp_path, "defect_return")
    root = etree.fromstring(xml)
    boundaries = root.findall(".//bpmn:boundaryEvent", NS)
    assert boundaries, "defect_return escalates late tasks to the director"
    for boundary in boundaries:
        assert boundary.get("cancelActivity") == "false"
        assert boundary.find("bpmn:timerEventDefinition", NS) is not None
        flow = root.find(f".//bpmn:sequenceFlow[@sourceRef='{boundary.get('id')}']", NS)
        assert flow is not None
        end = root.find(f".//bpmn:endEvent[@id='{flow.get('targetRef')}']", NS)
        assert end is not None and end.find("bpmn:escalationEventDefinition", NS) is not None
    _, workflow = parsed(xml, "defect_return")
    assert any(type(t).__name__ == "BoundaryEvent" for t in workflow.task_specs.values())  # type: ignore[attr-defined]


def test_a_sub_process_call_is_a_call_activity_and_for_each_a_multi_instance(tmp_path: Path) -> None:
    order = export(tmp_path, "client_order", "--library", str(TEST_LIBRARY))
    call = etree.fromstring(order).find(".//bpmn:callActivity", NS)
    assert call is not None and call.get("calledElement") == "client_check"
    parser, _ = parsed(order, "client_order")
    parser.add_bpmn_str(export(tmp_path, "client_check", "--library", str(TEST_LIBRARY)), "client_check.bpmn")
    assert "client_check" in parser.get_subprocess_specs("client_order")

    batch = etree.fromstring(export(tmp_path, "batch_review", "--library", str(TEST_LIBRARY)))
    loop = batch.find(".//bpmn:multiInstanceLoopCharacteristics", NS)
    assert loop is not None and loop.get("isSequential") == "false"
    assert loop.findtext("bpmn:loopDataInputRef", namespaces=NS)


def test_a_call_for_each_entry_is_a_multi_instance_call_activity_spiffworkflow_reads(tmp_path: Path) -> None:
    request = export(tmp_path, "positions_request", "--library", str(TEST_LIBRARY))
    call = etree.fromstring(request).find(".//bpmn:callActivity", NS)
    assert call is not None and call.get("calledElement") == "position_approval"
    loop = call.find("bpmn:multiInstanceLoopCharacteristics", NS)
    assert loop is not None and loop.findtext("bpmn:loopDataInputRef", namespaces=NS) == "positions"
    assert loop.findtext("bpmn:completionCondition", namespaces=NS) == "approvals == 'failure'"
    parser, _ = parsed(request, "positions_request")
    parser.add_bpmn_str(export(tmp_path, "position_approval", "--library", str(TEST_LIBRARY)), "approval.bpmn")
    assert "position_approval" in parser.get_subprocess_specs("positions_request")


def test_an_unknown_process_is_refused_with_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-bpmn", "no_such_process"]) == 2
    assert "defect_return" in capsys.readouterr().err
