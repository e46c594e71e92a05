"""manage.py quality_detect: the nightly record-quality check, by hand (guidance/quality.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from guidance.quality import flags_detect


class Command(BaseCommand):
    help = "检查全市谈心谈话记录的质量疑点(内容雷同、集中补录、逾期补录、篇幅过短),可重复运行。"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(flags_detect().summary())
