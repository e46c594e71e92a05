"""The school's zip of case files is built by a real Celery worker over the embedded broker (the quick
start's, no Redis): the task sent as the page's on_commit sends it, the worker writes the zip under
MEDIA_ROOT and the row says 已完成 with its progress at total, and a second delivery of the same
task builds nothing twice. (guidance/tests/test_tasks_on_worker.py explains the worker and the
database it is pointed at.)"""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

import pytest
from celery import Celery
from pypdf import PdfReader

from casefiles.models import CaseFileExport, ExportStatus
from guidance.tests.factories import TalkRecordFactory
from guidance.tests.test_tasks_on_worker import WorkerDatabase, filesystem_options, worker_env  # noqa: F401
from pairing.tests import factories as pf
from zaoyang_aid.tests.test_celery import running_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DONE_TIMEOUT = 60  # seconds: the worker imports Django, reads the font and renders one PDF


def test_the_zip_is_built_by_a_worker_over_the_embedded_broker_once(tmp_path: Path, settings, filesystem_options):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    term = pf.TermFactory()
    pairing = pf.PairingFactory(started_on=term.start_date)
    TalkRecordFactory(pairing=pairing, content="期中考试后一起分析了数学错题。")
    officer = pf.OfficerFactory(school=pairing.student.school).user
    export = CaseFileExport.objects.create(school=pairing.student.school, term=term, requested_by=officer)
    database = WorkerDatabase(tmp_path)
    sender = Celery("sender", broker="filesystem://", broker_transport_options=filesystem_options)
    env = worker_env(database, tmp_path / "var", "") | {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}

    with running_worker(tmp_path, env) as worker:
        for _ in range(2):  # the second delivery finds the zip built and does nothing
            task_id = str(uuid.uuid4())
            sender.send_task("casefiles.build_case_file_export", args=(export.pk,), task_id=task_id, queue=worker.queue)
            done = f"Task casefiles.build_case_file_export[{task_id}] succeeded"
            assert worker.wait_for(done, DONE_TIMEOUT), f"no '{done}' within {DONE_TIMEOUT}s:\n{worker.output()}"
        database.refresh()

    export.refresh_from_db()
    assert (export.status, export.done, export.total) == (ExportStatus.DONE, 1, 1)
    zips = list((tmp_path / "media").rglob("*.zip"))
    assert [p.name for p in zips] == [Path(export.file.name).name]
    with zipfile.ZipFile(zips[0]) as archive:
        (name,) = archive.namelist()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read(name))).pages)
    assert pairing.student.name in text and "分析了数学错题" in text
    assert not list((tmp_path / "media").rglob("*.part"))  # nothing left half-written next to it
