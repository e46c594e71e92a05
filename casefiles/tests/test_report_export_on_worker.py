"""A large Excel report is written by a real Celery worker over the embedded broker (the quick start's,
no Redis): the task sent as the download view's on_commit sends it, the worker writes the .xlsx under
MEDIA_ROOT, the row says 已完成 with its progress at total, and a second delivery writes nothing twice.
(guidance/tests/test_tasks_on_worker.py explains the worker and the database it is pointed at.)"""

from __future__ import annotations

import uuid
from pathlib import Path

import openpyxl
import pytest
from celery import Celery

from casefiles.models import ExportStatus, ReportExport
from guidance.tests.test_tasks_on_worker import WorkerDatabase, filesystem_options, worker_env  # noqa: F401
from pairing.tests import factories as pf
from zaoyang_aid.excel import HEADER_ROW
from zaoyang_aid.tests.test_celery import running_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DONE_TIMEOUT = 60  # seconds: the worker imports Django and writes three rows


def test_the_report_is_written_by_a_worker_over_the_embedded_broker_once(tmp_path: Path, settings, filesystem_options):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    term = pf.TermFactory()
    pairings = [pf.PairingFactory(started_on=term.start_date) for _ in range(3)]
    county = pf.CountyUserFactory()
    export = ReportExport.objects.create(
        requested_by=county, report="pairings", label="结对帮扶台账", filter_key="k",
        filters={"term": [str(term.pk)]}, total=3,
    )  # fmt: skip
    database = WorkerDatabase(tmp_path)
    sender = Celery("sender", broker="filesystem://", broker_transport_options=filesystem_options)
    env = worker_env(database, tmp_path / "var", "") | {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}

    with running_worker(tmp_path, env) as worker:
        for _ in range(2):  # the second delivery finds the file written and does nothing
            task_id = str(uuid.uuid4())
            sender.send_task("casefiles.build_report_export", args=(export.pk,), task_id=task_id, queue=worker.queue)
            done = f"Task casefiles.build_report_export[{task_id}] succeeded"
            assert worker.wait_for(done, DONE_TIMEOUT), f"no '{done}' within {DONE_TIMEOUT}s:\n{worker.output()}"
        database.refresh()

    export.refresh_from_db()
    assert (export.status, export.done, export.total) == (ExportStatus.DONE, 3, 3), export.error
    files = list((tmp_path / "media").rglob("*.xlsx"))
    assert [p.name for p in files] == [Path(export.file.name).name]
    ws = openpyxl.load_workbook(files[0]).active
    names = {row[2].value for row in ws.iter_rows(min_row=HEADER_ROW + 1)}
    assert {p.student.name for p in pairings} <= names
    assert not list((tmp_path / "media").rglob("*.part"))  # nothing left half-written next to it
