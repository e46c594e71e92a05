"""The case file PDF: Chinese text that extracts, blocks kept whole, footers with page numbers."""

from __future__ import annotations

import io

from pypdf import PdfReader

from casefiles.document import Block, Cover, Document, Row, Section, Table
from casefiles.pdf import render_pdf


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _document(*sections: Section) -> Document:
    return Document(
        cover=Cover(title="学生资助帮扶档案", rows=[Row("学校", "枣阳市第一中学"), Row("学生", "王玥堃")]),
        sections=list(sections),
        footer="枣阳市学生资助管理中心 · 内部资料 注意保密",
        filename="七年级3班-王玥堃",
    )


def _talk(n: int, content: str = "交流本周学习情况,辅导数学错题。") -> Block:
    return Block(title=f"谈心谈话 第{n}次", meta="张老师 · 2026年11月16日", rows=[Row("内容", content)])


def test_the_students_name_and_a_talks_content_extract_from_the_pdf() -> None:
    pdf = render_pdf(_document(Section(title="谈心谈话", blocks=[_talk(1, "家里情况稳定,\n数学成绩提高了。")])))

    assert pdf.startswith(b"%PDF-")
    text = "".join(_pages(pdf))
    assert "王玥堃" in text
    assert "数学成绩提高了" in text
    assert "家里情况稳定" in text


def test_the_cover_is_a_page_of_its_own_and_sections_start_on_new_pages() -> None:
    pages = _pages(
        render_pdf(
            _document(
                Section(title="基本情况", blocks=[Block(title="家庭", rows=[Row("住址", "吴店镇")])]),
                Section(title="谈心谈话", blocks=[_talk(1)]),
                Section(title="家访", blocks=[], empty_text="本学期无家访", page_break_before=False),
            )
        )
    )

    assert len(pages) == 3
    assert "学生资助帮扶档案" in pages[0] and "基本情况" not in pages[0]
    assert "基本情况" in pages[1] and "谈心谈话" not in pages[1]
    assert "谈心谈话" in pages[2] and "本学期无家访" in pages[2]


def test_every_page_has_the_footer_and_its_number_of_the_total() -> None:
    pages = _pages(render_pdf(_document(Section(title="谈心谈话", blocks=[_talk(n) for n in range(40)]))))

    assert len(pages) > 3
    for number, text in enumerate(pages, start=1):
        assert "内部资料 注意保密" in text
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text


def test_a_block_that_fits_a_page_is_not_split_across_two() -> None:
    # Each block is ten lines: some of them must reach the foot of a page and move whole.
    long = "\n".join(f"第{i}行:学习、生活、心理情况。" for i in range(10))
    blocks = [_talk(n, long + f"\n结束标记{n}") for n in range(12)]

    pages = _pages(render_pdf(_document(Section(title="谈心谈话", blocks=blocks))))

    assert len(pages) > 3
    for n in range(12):
        holding = [i for i, text in enumerate(pages) if f"谈心谈话 第{n}次" in text]
        assert len(holding) == 1, f"block {n} starts on more than one page"
        assert f"结束标记{n}" in pages[holding[0]], f"block {n} was split"


def test_a_block_longer_than_a_page_flows_on_with_its_title_continued() -> None:
    pages = _pages(render_pdf(_document(Section(title="谈心谈话", blocks=[_talk(1, "很长的内容。" * 1500)]))))

    assert len(pages) >= 3
    assert "谈心谈话 第1次(续)" in pages[2]


def test_a_table_prints_its_headers_and_wrapped_chinese_cells() -> None:
    rows = [["王大", "父亲", "长期慢性病," * 8], ["李二", "母亲", ""]]
    table = Table(headers=["姓名", "关系", "健康状况"], rows=rows)
    section = Section(title="家庭成员", blocks=[Block(title="成员", tables=[table])])

    text = "".join(_pages(render_pdf(_document(section))))

    assert "健康状况" in text and "王大" in text and "李二" in text and "父亲" in text
    assert text.count("长期慢性病") == 8


def test_a_character_the_font_lacks_shows_as_a_box_rather_than_vanishing() -> None:
    document = _document(Section(title="谈心谈话", blocks=[_talk(1, "王䶮今天很开心😀。")]))

    text = "".join(_pages(render_pdf(document)))

    assert "王□今天很开心□。" in text
