"""Demo data for the guidance app: three terms of weekly talk records, home visits with photos and a
few excused weeks, for every pairing that pairing's seeder made (``ctx.shared["pairing"]``).

Called by ``manage.py seed_demo`` after pairing's seeder (zaoyang_aid/demo.py explains the protocol).
What it makes follows the school calendar and behaves like a county's teachers do:

- talks fall on school days of school weeks (holidays, vacations and closures left out) while the
  pairing is active, never after today; in the current week about half the pairings are done so far;
- most teachers are diligent (they miss about 3% of weeks), a minority are sloppy (20-40%), a few
  stopped two to four weeks ago (so the reminders and the overdue lists have someone to show), and
  now and then a week has two talks;
- 学业辅导 and 交流谈心 are the usual tags, 政策宣导 comes near the start of a term, 家长访谈 with the
  home visits; the texts are put together from phrase banks around each student's stage, subjects,
  temperament and family;
- about one home visit a pairing a past term, some 85% so far in the current one, and a few teachers
  who never visit; the policies explained are those that apply to the student's stage;
- officers excuse a few missed weeks (illness, exams, training);
- a pool of twelve generated JPEGs under MEDIA_ROOT/home-visits/demo/ that the visits' photos share.

demo_teacher's three students show every state of the teacher's page: one done this week, one due,
one overdue (and not yet visited this term). At the demo school, 五三卡 in each state: past terms'
filled and reviewed with marks; this term's filled for most students, missing for some (demo_teacher's
third), reviewed once the term-end window has begun.

At county scale this is some 600,000 rows; they are made and inserted in chunks so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from pairing.demo import GroundFloor, case_weeks, weeks_back
from pairing.models import EnrollmentChange, HouseholdMember, Pairing, Stage, Student, Term, absences
from zaoyang_aid import calendar
from zaoyang_aid.access import Role
from zaoyang_aid.demo import BATCH_SIZE, DemoContext, raw_delete

from . import quality, reminders, services
from .compliance import school_weeks_by_school
from .counselling_demo import flush_counselling, seed_counselling
from .models import (
    FORM_FIELDS,
    ITEMS_PER_SECTION,
    TRACK_FIELDS,
    AidPolicy,
    CardMark,
    Delivery,
    ExcusedWeek,
    ExcuseReason,
    FiveThreeCard,
    HomeVisit,
    HomeVisitPhoto,
    LateEntryPermission,
    Notification,
    PairingTermTally,
    Reminder,
    ReminderPreference,
    SweepRun,
    TalkRecord,
    TalkRecordFlag,
    TalkRecordRevision,
    private_storage,
    review_opens_on,
)
from .tallies import tally_rebuild

CHUNK = 20_000  # talk records held in memory before they are inserted
POOL_DIR = HomeVisitPhoto.SHARED_DIR
POOL_SIZE = 12
PHOTO_WIDTH, PHOTO_HEIGHT = 640, 480

# --- How teachers work ----------------------------------------------------------------------------


@dataclass
class Plan:
    """How one pairing's talks and visits go: the teacher's habit, and what the current week and the
    last elapsed weeks of the current term must show (the demo teacher's page, stopped teachers)."""

    miss_rate: float  # share of school weeks without a talk
    double_rate: float  # share of done weeks with two talks
    weekday: int  # the teacher's usual day for the talk
    visits: bool = True  # False: a teacher who never visits
    this_week: bool | None = None  # None: by chance; True/False: done or not in the current week
    tail_missed: int = 0  # the last elapsed weeks of the current term, all missed (and not excused)
    tail_done: bool = False  # the last elapsed week of the current term is done
    visit_now: bool | None = None  # None: by chance; True/False: visited in the current term or not


def teacher_plan(rng: random.Random) -> Plan:
    """78% diligent, 16% sloppy, 6% stopped recently; 4% of all never visit."""
    kind = rng.random()
    weekday = rng.choice([0, 1, 2, 2, 3, 3, 4])  # Wednesday and Thursday are the usual days
    visits = rng.random() >= 0.04
    if kind < 0.78:
        return Plan(rng.uniform(0.0, 0.06), 0.06, weekday, visits)
    if kind < 0.94:
        return Plan(rng.uniform(0.2, 0.4), 0.02, weekday, visits)
    return Plan(rng.uniform(0.02, 0.08), 0.03, weekday, visits, this_week=False, tail_missed=rng.randint(2, 4))


class PlanShown(TypedDict, total=False):
    """What the demo teacher's page must show for one of her pairings (overrides of a Plan)."""

    this_week: bool
    tail_missed: int
    tail_done: bool
    visit_now: bool


# The demo teacher's three pairings, oldest first: done this week, overdue (and not visited yet),
# and due this week, the one taken over mid-term (a visit under any pairing counts for the student,
# so it could not be the unvisited one).
DEMO_TEACHER_PLANS: tuple[PlanShown, ...] = (
    {"this_week": True, "tail_done": True, "visit_now": True},
    {"this_week": False, "tail_missed": 2, "visit_now": False},
    {"this_week": False, "tail_done": True, "visit_now": True},
)

# --- Phrase banks ---------------------------------------------------------------------------------

TOPICS: dict[str, dict[str, list[str]]] = {
    Stage.PRIMARY: {
        "语文": ["生字词听写", "古诗背诵", "看图写话", "阅读理解", "习作《我的家乡》", "修改病句"],
        "数学": ["乘法口诀", "分数的初步认识", "两位数乘法", "小数加减法", "应用题审题", "长方形的面积"],
        "英语": ["单词拼读", "课文朗读", "字母书写", "日常对话"],
    },
    Stage.JUNIOR: {
        "语文": ["文言文翻译", "现代文阅读", "作文审题立意", "名著《朝花夕拾》", "古诗词默写"],
        "数学": ["一元一次方程", "全等三角形的证明", "二次函数图像", "因式分解", "勾股定理", "分式方程"],
        "英语": ["一般过去时", "完形填空", "听力训练", "单词记忆方法", "书面表达"],
        "物理": ["浮力", "欧姆定律", "电路图", "压强", "光的折射"],
        "化学": ["化学方程式配平", "酸碱盐", "实验室制取氧气"],
        "生物": ["人体的消化系统", "植物的光合作用"],
        "道德与法治": ["宪法常识", "青春期的自我保护"],
    },
    Stage.SENIOR: {
        "语文": ["文言文虚词", "诗歌鉴赏", "议论文写作", "信息类文本阅读"],
        "数学": ["导数的应用", "三角函数", "立体几何", "数列求和", "概率统计", "圆锥曲线"],
        "英语": ["读后续写", "长难句分析", "词汇积累", "语法填空"],
        "物理": ["牛顿运动定律", "电磁感应", "动量守恒", "机械能"],
        "化学": ["有机化学", "化学平衡", "电化学"],
        "生物": ["遗传规律", "细胞呼吸"],
    },
    Stage.VOCATIONAL: {
        "语文": ["应用文写作", "求职信的写法"],
        "数学": ["函数基础", "数据统计"],
        "英语": ["职场英语对话", "常用词汇"],
    },
}
MAJORS = {  # a 中职 student's major and what its 专业课 tutoring is about
    "汽车运用与维修": ["发动机拆装", "汽车电路检测", "底盘维护"],
    "计算机应用": ["Office办公软件", "图像处理", "网络布线"],
    "电子商务": ["网店运营", "商品拍摄与美工", "客户服务话术"],
    "护理": ["生命体征测量", "基础护理操作", "无菌技术"],
    "数控技术应用": ["数控车床编程", "零件识图", "量具使用"],
    "电子技术应用": ["电工实训安全规范", "焊接技术", "电子元件识别"],
}
PRESCHOOL_STUDY = [
    "陪孩子读绘本《{book}》,引导说出故事里发生了什么",
    "用积木和卡片玩数数游戏,练习10以内的数",
    "教孩子念儿歌《{song}》,练习大胆表达",
    "一起画画,说一说画里的家人",
    "练习自己穿衣、整理玩具",
    "用拼图游戏培养孩子的专注力",
]
BOOKS = ["猜猜我有多爱你", "小蝌蚪找妈妈", "大卫不可以", "我爸爸", "好饿的毛毛虫", "逃家小兔"]
SONGS = ["小燕子", "数鸭子", "拔萝卜", "两只老虎", "小兔子乖乖"]
STUDY = [
    "辅导{subject}作业,重点讲解{topic}",
    "一起订正{subject}错题,分析{topic}的错因",
    "检查{subject}课堂笔记,补讲{topic}",
    "帮助制定{subject}复习计划,从{topic}入手",
    "面批{subject}作业,讲清{topic}的解题思路",
    "梳理近期{subject}学习情况,巩固{topic}",
    "交流{subject}学习方法,推荐{topic}的针对性练习",
]
GOALS: dict[str, list[str]] = {
    Stage.PRESCHOOL: ["做个勇敢、有礼貌的小朋友", "每天自己的事情自己做"],
    Stage.PRIMARY: ["每天坚持阅读半小时", "做一名讲文明、爱劳动的好少年", "上课认真听讲、积极发言"],
    Stage.JUNIOR: ["考上理想的高中", "每天进步一点点", "把薄弱学科补上来"],
    Stage.SENIOR: ["确定高考的目标院校", "合理安排复习时间,稳中求进", "坚持到底,不轻言放弃"],
    Stage.VOCATIONAL: ["考取职业技能等级证书", "学好一门手艺,将来靠技术立身", "争取参加技能大赛"],
}
OCCASIONS = {
    1: "元旦",
    2: "春节",
    3: "学雷锋纪念日",
    4: "清明节",
    5: "五四青年节",
    6: "端午节",
    7: "建党节",
    9: "教师节",
    10: "国庆节",
    11: "身边的好人好事",
    12: "国家宪法日",
}
THOUGHT = [
    "谈理想与目标,鼓励学生{goal}",
    "结合{occasion}开展感恩与爱国教育",
    "交流诚实守信、遵守纪律的重要性",
    "讨论班级里的一件小事,引导学生学会换位思考",
    "谈家乡枣阳近年来的变化,激发学习动力",
    "鼓励学生积极参加集体活动,增强集体荣誉感",
    "引导学生正确看待家庭困难,树立自强自立的信心",
]
PSYCH = [
    "了解近期心情,学生说{feeling}",
    "倾听学生对{worry}的担心,帮助疏导情绪",
    "聊与同学相处的情况,鼓励主动交朋友",
    "交流缓解考试紧张的方法,一起练习深呼吸放松",
    "肯定学生近期的进步,增强自信心",
]
PSYCH_AWAY = "了解学生想念在外务工父母的心情,鼓励多与父母视频通话"
FEELINGS = ["最近挺开心", "这周有点累", "有点担心考试", "和好朋友闹了别扭", "想家了", "上课跟得上了"]
WORRIES = ["考试成绩", "升学", "家里老人的身体", "同学关系", "成绩下滑"]
LIFE = [
    "提醒天气变化及时增减衣物",
    "了解一日三餐和睡眠情况",
    "指导整理书包和学习用品",
    "了解在家帮忙做家务的情况",
    "开展{safety}教育",
    "提醒合理使用手机,控制上网时间",
    "帮助制定周末作息时间表",
]
LIFE_BOARDING = "交流寄宿生活,指导整理宿舍内务"
POLICY = [
    "讲解{policy}的内容和申请程序",
    "告知本学期资助资金的发放情况,提醒家长注意查收",
    "宣传{policy},解答学生的疑问",
    "说明资助政策“应助尽助”的要求,鼓励学生安心学习",
]
LECTURES = ["心理健康", "安全教育", "青春期健康", "学习方法指导", "法治教育", "感恩励志"]
MODELS = ["张桂梅校长", "袁隆平院士", "黄文秀", "本校考上大学的学长", "身边自强不息的同学", "雷锋"]
ACTIVITIES = ["读书分享会", "校园运动会", "劳动实践活动", "志愿服务活动", "书法比赛", "趣味科学实验"]
FORM_PHRASES = {
    "form_lecture": "参加学校“{lecture}”专题讲座后交流体会",
    "form_model": "讲述{model}的故事,引导学生向榜样学习",
    "form_activity": "一起参加{activity}",
    "form_parent": "电话联系学生{guardian},交流孩子在家的学习和生活情况",
}
STATES_GOOD = [
    "情绪稳定,上课能主动举手发言",
    "精神状态良好,作业按时完成",
    "比上周开朗,愿意主动和老师交流",
    "学习积极性较高,{subject}有明显进步",
    "与同学相处融洽,课间活泼",
    "态度认真,能按计划复习",
]
STATES_PLAIN = [
    "状态平稳,话不多但听得认真",
    "情绪正常,偶尔上课走神",
    "学习态度端正,{subject}仍需加强",
    "性格偏内向,交流时需要多鼓励",
]
STATES_LOW = [
    "有些疲惫,说最近睡得较晚",
    "因{subject}测验成绩不理想有些沮丧",
    "与同学闹了点矛盾,心情不太好",
    "感冒刚好,精神稍差",
]
STATE_AWAY = "想念外出务工的父母,情绪略低落"
STATES_PRESCHOOL = [
    "在园情绪愉快,愿意和小朋友一起玩",
    "入园时有点黏人,很快就能融入集体",
    "吃饭、午睡情况良好",
    "能安静听完一个故事,还会复述几句",
    "比上周更愿意开口说话",
    "有点想妈妈,哄一哄就好了",
]
# A problem found and what was done about it, so the two fields agree.
PROBLEMS = [
    ("{subject}基础薄弱,{topic}掌握不牢", ["与{subject}任课老师沟通,课后个别辅导", "每天放学后抽15分钟面批作业"]),
    ("作业拖拉,书写不够工整", ["和学生约定每天完成作业后拍照给老师看", "与家长沟通,督促按时完成作业"]),
    ("上课注意力不集中", ["与班主任沟通,课堂上多给发言机会", "安排座位到前排"]),
    ("周末在家玩手机时间偏长", ["与家长电话沟通,约定周末手机使用时间"]),
    ("不太愿意向老师提问", ["鼓励先在作业本上写下问题,由老师主动询问"]),
    ("与同学交往较少", ["建议参加学校兴趣小组", "安排性格开朗的同学结对互助"]),
    ("早餐经常不吃", ["提醒按时吃早餐,联系食堂关注其用餐情况"]),
    ("学习用品不足", ["赠送文具和课外书"]),
]
PROBLEMS_PRESCHOOL = [
    ("不爱开口说话", ["多和孩子做对话游戏,鼓励大胆表达"]),
    ("午睡入睡困难", ["与保育员沟通,午睡前讲故事安抚"]),
    ("挑食,饭量偏小", ["与家长沟通,家园共同引导均衡饮食"]),
    ("与小朋友争抢玩具", ["通过绘本引导孩子学会分享"]),
]
PROBLEM_WINTER = ("冬季衣物偏少", ["联系学校发放爱心羽绒服"])
PROBLEM_ELDERS = ("祖辈年纪大,辅导作业有困难", ["安排学校课后服务时段完成作业"])
NEXT_STEPS = [
    "下周检查{subject}错题订正情况",
    "继续关注情绪变化",
    "下次谈话了解{topic}的掌握情况",
    "近期开展家访,当面向家长宣传资助政策",
    "请心理健康教师进一步关注",
    "与家长保持每周一次电话联系",
    "鼓励其参加下周的班级活动",
]
NEXT_BY_MONTH = {12: "帮助制定期末复习计划", 1: "督促按计划完成寒假作业", 6: "帮助制定期末复习计划"}
# Home visits: the house stays the same from visit to visit, the rest varies.
HOMES = [
    "砖混结构平房三间,屋内陈设简单,生活用品基本齐全",
    "两层楼房,一楼堆放农具和粮食,家中有电视、冰箱",
    "危房改造后的新砖房,屋内干净整洁",
    "租住在城区老小区的一室一厅,空间狭小但收拾得整齐",
    "老式瓦房,墙面有裂缝,已向村委会反映",
    "与祖辈同住的农家小院,院内种有蔬菜",
]
HOME_SEASON = {
    "winter": ["冬季取暖靠电烤炉", "屋内较冷,被褥偏薄"],
    "summer": ["有电扇,没有空调", "夏季通风尚可"],
    "other": ["屋内采光较好", "家中饮水、用电正常"],
}
STUDY_PLACES = [
    "有独立书桌和台灯,光线良好",
    "在饭桌上写作业,缺少台灯(已赠送护眼台灯一盏)",
    "与兄弟姐妹共用一张书桌",
    "家中没有宽带,用手机流量查资料",
    "有一个小书架,课外书不多",
    "卧室兼作学习角,比较安静",
]
NEEDS = [
    "希望孩子周末有人辅导功课",
    "家中老人患慢性病需长期服药,医药费负担较重",
    "冬季衣被不足",
    "希望了解下一学段的资助政策",
    "孩子缺少课外读物",
    "家长外出务工,希望学校多关注孩子的心理状况",
]
FEEDBACK = [
    "家长对学校的关心表示感谢",
    "家长表示会督促孩子按时完成作业",
    "家长希望老师多和孩子谈心",
    "家长对资助政策表示清楚,资助资金已收到",
    "家长希望孩子在学校能多参加活动",
    "家长表示有困难会及时与老师联系",
]
BLANKS = {
    "feeling": FEELINGS,
    "worry": WORRIES,
    "book": BOOKS,
    "song": SONGS,
    "lecture": LECTURES,
    "model": MODELS,
    "activity": ACTIVITIES,
}
EXCUSE_NOTES = {
    ExcuseReason.ILLNESS: ["学生患流感请假在家", "学生住院治疗", "学生病假一周"],
    ExcuseReason.EXAM: ["期中考试周", "月考周,课表调整"],
    ExcuseReason.EVENT: ["学校运动会", "学校研学活动"],
    ExcuseReason.TRAINING: ["教师参加市级培训", "教师外出跟岗学习"],
    ExcuseReason.OTHER: ["学生随家长外出就医", "家中有事请假"],
}
EXCUSE_WEIGHTS = [
    (ExcuseReason.ILLNESS, 50),
    (ExcuseReason.EXAM, 15),
    (ExcuseReason.EVENT, 12),
    (ExcuseReason.TRAINING, 13),
    (ExcuseReason.OTHER, 10),
]


def _season(day: dt.date) -> str:
    return "winter" if day.month in (11, 12, 1, 2) else "summer" if day.month in (5, 6, 7, 8, 9) else "other"


def _safety(day: dt.date, stage: str) -> str:
    seasonal = {"winter": "防火、安全用电", "summer": "防溺水", "other": "交通安全"}[_season(day)]
    extra = "防范电信诈骗" if stage in (Stage.SENIOR, Stage.VOCATIONAL) else "防校园欺凌"
    return seasonal if day.day % 3 else extra


# --- Students and families --------------------------------------------------------------------


@dataclass
class Child:
    """What the texts about one student draw on, fixed for the whole demo."""

    stage: str
    subjects: dict[str, list[str]]  # subject -> topics
    weak: str  # the subject the tutoring keeps coming back to
    mood: float  # 0 (often low) .. 1 (usually cheerful)
    parents_away: bool
    elders: bool  # raised by grandparents
    boarding: bool
    adults: list[str]  # relations of the adults at home: 母亲, 祖母 …
    home: str = ""
    study_place: str = ""


def _family_members() -> dict[int, list[tuple[str, int, str]]]:
    """relation, age and occupation of every household's members (one query)."""
    members: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    for household_id, relation, age, occupation in HouseholdMember.objects.values_list(
        "household_id", "relation", "age", "occupation"
    ):
        members[household_id].append((relation, age, occupation))
    return members


def make_child(rng: random.Random, student: Student, members: list[tuple[str, int, str]]) -> Child:
    stage = student.school.stage
    if stage == Stage.VOCATIONAL:
        major, topics = rng.choice(list(MAJORS.items()))
        subjects = {**TOPICS[stage], f"{major}专业课": topics}
    else:
        subjects = TOPICS.get(stage, {})
    away = any(r in ("父亲", "母亲") and job == "外出务工" for r, _, job in members)
    adults = [r for r, age, job in members if age >= 18 and not (r in ("父亲", "母亲") and job == "外出务工")]
    return Child(
        stage=stage,
        subjects=subjects,
        weak=rng.choice(list(subjects)[:3]) if subjects else "",
        mood=rng.betavariate(4, 2),
        parents_away=away,
        elders=any(r.endswith(("祖父", "祖母")) for r in adults) and not any(r in ("父亲", "母亲") for r in adults),
        boarding=stage in (Stage.JUNIOR, Stage.SENIOR, Stage.VOCATIONAL) and rng.random() < 0.5,
        adults=adults or ["监护人"],
        home=rng.choice(HOMES),
        study_place=rng.choice(STUDY_PLACES),
    )


# --- Texts ----------------------------------------------------------------------------------------


@dataclass
class Talk:
    tags: dict[str, bool]
    duration: int
    content: str
    state: str
    problems: str
    measures: str
    next_steps: str


class _Slots(dict[str, str]):
    """A template's blanks, each drawn only when the template has it (half a million talks)."""

    def __init__(self, texts: Texts, child: Child, day: dt.date, subject: str, topic: str) -> None:
        super().__init__(subject=subject, topic=topic)
        self.texts, self.child, self.day = texts, child, day

    def __missing__(self, key: str) -> str:
        rng, child = self.texts.rng, self.child
        if key == "occasion":
            return OCCASIONS.get(self.day.month, "身边的好人好事")
        if key == "safety":
            return _safety(self.day, child.stage)
        if key == "policy":
            return rng.choice(self.texts.policies[child.stage])
        if key == "goal":
            return rng.choice(GOALS[child.stage])
        if key == "guardian":
            return rng.choice(child.adults)
        return rng.choice(BLANKS[key])


class Texts:
    """Talk and visit texts from the phrase banks: what a teacher would write, never twice the same."""

    def __init__(self, rng: random.Random, policies: dict[str, list[str]]) -> None:
        self.rng = rng
        self.policies = policies  # short policy names by stage

    def _subject_topic(self, child: Child) -> tuple[str, str]:
        rng = self.rng
        subject = child.weak if rng.random() < 0.5 else rng.choice(list(child.subjects))
        return subject, rng.choice(child.subjects[subject])

    def _fill(self, template: str, child: Child, day: dt.date, subject: str, topic: str) -> str:
        if "{" not in template:
            return template
        return template.format_map(_Slots(self, child, day, subject, topic))

    def tags(self, child: Child, week_number: int) -> dict[str, bool]:
        """学业辅导 and 交流谈心 most of the time; 政策宣导 mostly in a term's first three weeks."""
        r = self.rng.random
        policy = r() < (0.55 if week_number <= 3 else 0.06)
        tags = {
            "track_study": r() < (0.5 if child.stage == Stage.PRESCHOOL else 0.72),
            "track_thought": r() < 0.28,
            "track_psych": r() < (0.45 if child.mood < 0.45 or child.parents_away else 0.25),
            "track_life": r() < 0.3,
            "track_policy": policy,
            "form_talk": r() < 0.88,
            "form_lecture": r() < 0.04,
            "form_model": r() < 0.08,
            "form_parent": r() < 0.07,
            "form_activity": r() < 0.07,
        }
        if not any(tags[f] for f in TRACK_FIELDS):
            tags["track_study"] = True
        if not any(v for k, v in tags.items() if k.startswith("form_")):
            tags["form_talk"] = True
        return tags

    def talk(self, child: Child, day: dt.date, week_number: int) -> Talk:
        tags = self.tags(child, week_number)
        subject, topic = self._subject_topic(child) if child.subjects else ("", "")
        parts = [self._fill(t, child, day, subject, topic) for t in self._content_templates(child, tags)]
        problems, measures = self._problem(child, day, subject, topic)
        return Talk(
            tags=tags,
            duration=self._duration(tags),
            content=";".join(parts) + "。",
            state=self._state(child, day, subject, topic),
            problems=problems,
            measures=measures,
            next_steps=self._next_step(child, day, subject, topic),
        )

    def _content_templates(self, child: Child, tags: dict[str, bool]) -> list[str]:
        rng = self.rng
        chosen = []
        if tags["track_study"]:
            chosen.append(rng.choice(STUDY if child.subjects else PRESCHOOL_STUDY))
        if tags["track_thought"]:
            chosen.append(rng.choice(THOUGHT))
        if tags["track_psych"]:
            chosen.append(PSYCH_AWAY if child.parents_away and rng.random() < 0.3 else rng.choice(PSYCH))
        if tags["track_life"]:
            chosen.append(LIFE_BOARDING if child.boarding and rng.random() < 0.3 else rng.choice(LIFE))
        if tags["track_policy"]:
            chosen.append(rng.choice(POLICY))
        chosen += [phrase for form, phrase in FORM_PHRASES.items() if tags[form]]
        return chosen

    def _duration(self, tags: dict[str, bool]) -> int:
        rng = self.rng
        minutes = rng.choice([20, 25, 30, 30, 30, 40, 40, 45, 50, 60])
        if tags["form_lecture"]:
            minutes = max(minutes, 45)
        if tags["form_activity"]:
            minutes = rng.choice([60, 90, 120])
        return minutes + (rng.choice([10, 15, 20]) if tags["form_parent"] else 0)

    def _state(self, child: Child, day: dt.date, subject: str, topic: str) -> str:
        rng = self.rng
        if not child.subjects:
            return rng.choice(STATES_PRESCHOOL) + "。"
        roll = rng.random()
        if roll < child.mood * 0.8:
            bank = STATES_GOOD
        elif roll < 0.85:
            bank = STATES_PLAIN
        else:
            bank = STATES_LOW + [STATE_AWAY] * (2 if child.parents_away else 0)
        return self._fill(rng.choice(bank), child, day, subject, topic) + "。"

    def _problem(self, child: Child, day: dt.date, subject: str, topic: str) -> tuple[str, str]:
        rng = self.rng
        if rng.random() > 0.55 - child.mood * 0.25:
            return "", ""
        bank = PROBLEMS if child.subjects else PROBLEMS_PRESCHOOL
        bank = bank + ([PROBLEM_WINTER] if _season(day) == "winter" else [])
        bank += [PROBLEM_ELDERS] if child.elders and child.subjects else []
        problem, measures = rng.choice(bank)
        return (
            self._fill(problem, child, day, subject, topic) + "。",
            self._fill(rng.choice(measures), child, day, subject, topic) + "。",
        )

    def _next_step(self, child: Child, day: dt.date, subject: str, topic: str) -> str:
        rng = self.rng
        if rng.random() < 0.25:
            return ""
        if day.month in NEXT_BY_MONTH and rng.random() < 0.3:
            return NEXT_BY_MONTH[day.month] + "。"
        bank = NEXT_STEPS if child.subjects else NEXT_STEPS[1:2] + NEXT_STEPS[3:]
        return self._fill(rng.choice(bank), child, day, subject or "学习", topic or "所学内容") + "。"

    # Home visits ---------------------------------------------------------------------------------

    def visit(self, child: Child, day: dt.date) -> dict[str, Any]:
        rng = self.rng
        met = rng.sample(child.adults, min(len(child.adults), rng.randint(1, 2)))
        if child.parents_away and rng.random() < 0.3:
            met.append("在外务工的父母(视频连线)")
        return {
            "members_met": "、".join(met)[:100],
            "living_conditions": f"{child.home};{rng.choice(HOME_SEASON[_season(day)])}。",
            "study_conditions": child.study_place + "。",
            "needs_found": rng.choice(NEEDS) + "。" if rng.random() < 0.7 else "",
            "family_feedback": rng.choice(FEEDBACK) + "。" if rng.random() < 0.85 else "",
            "track_policy": rng.random() < 0.92,
            "track_life": rng.random() < 0.6,
            "track_study": rng.random() < 0.45,
            "track_thought": rng.random() < 0.25,
            "track_psych": rng.random() < 0.3,
            "form_parent": True,
            "form_talk": rng.random() < 0.7,
        }


# --- The photo pool ---------------------------------------------------------------------------------


def _scene(rng: random.Random) -> bytes:
    """A 640x480 JPEG: a sky gradient over fields, a house with a roof, door and windows, trees. No EXIF."""
    from PIL import Image, ImageDraw, ImageOps

    def colour(low: int, high: int) -> tuple[int, int, int]:
        return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))

    sky_top = (rng.randint(60, 140), rng.randint(120, 190), rng.randint(200, 255))
    gradient = Image.linear_gradient("L").resize((PHOTO_WIDTH, PHOTO_HEIGHT))
    image = ImageOps.colorize(gradient, black=sky_top, white=colour(200, 250)).convert("RGB")
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(280, 340)
    field = (rng.randint(70, 130), rng.randint(130, 180), rng.randint(40, 90))
    draw.rectangle((0, horizon, PHOTO_WIDTH, PHOTO_HEIGHT), fill=field)
    for row in range(horizon + 12, PHOTO_HEIGHT, 18):  # furrows
        draw.line((0, row, PHOTO_WIDTH, row + rng.randint(-6, 6)), fill=tuple(max(0, c - 25) for c in field), width=3)
    sun = (rng.randint(40, 600), rng.randint(30, 110))
    draw.ellipse((sun[0] - 28, sun[1] - 28, sun[0] + 28, sun[1] + 28), fill=(255, rng.randint(200, 240), 120))
    left, width, height = rng.randint(120, 300), rng.randint(200, 260), rng.randint(110, 150)
    bottom, wall = horizon + rng.randint(20, 60), colour(170, 235)
    draw.rectangle((left, bottom - height, left + width, bottom), fill=wall, outline=(90, 80, 70), width=2)
    roof = (rng.randint(120, 190), rng.randint(40, 90), rng.randint(30, 70))
    eaves = 24
    draw.polygon(
        [
            (left - eaves, bottom - height),
            (left + width // 2, bottom - height - 80),
            (left + width + eaves, bottom - height),
        ],
        fill=roof,
    )
    door = left + width // 2 - 20
    draw.rectangle((door, bottom - 70, door + 40, bottom), fill=(110, 70, 40))
    for x in (left + 25, left + width - 70):
        draw.rectangle(
            (x, bottom - height + 30, x + 45, bottom - height + 70), fill=(170, 210, 235), outline=(80, 80, 80)
        )
    for _ in range(rng.randint(1, 4)):
        x = rng.choice([rng.randint(20, max(21, left - 60)), rng.randint(min(left + width + 40, 600), 620)])
        top = horizon - rng.randint(40, 90)
        draw.rectangle((x - 5, top + 40, x + 5, horizon + 10), fill=(100, 70, 40))
        draw.ellipse((x - 35, top - 10, x + 35, top + 55), fill=(40, rng.randint(110, 150), 50))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82, optimize=True)
    return buffer.getvalue()


def write_photo_pool(rng: random.Random) -> list[tuple[str, int]]:
    """Write the pool once under MEDIA_ROOT (overwriting an earlier demo's); returns (name, bytes)."""
    pool = []
    for n in range(1, POOL_SIZE + 1):
        name = f"{POOL_DIR}/demo-{n:02d}.jpg"
        data = _scene(rng)
        path = Path(private_storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        pool.append((name, len(data)))
    return pool


def _delete_pool() -> None:
    folder = Path(private_storage.path(POOL_DIR))
    for path in folder.glob("demo-*.jpg"):
        path.unlink(missing_ok=True)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


# --- Inserting ---------------------------------------------------------------------------------------


@contextmanager
def _timestamps_as_given(*model_classes: type[models.Model]) -> Iterator[None]:
    """bulk_create would stamp auto_now/auto_now_add fields with the moment of the load; demo rows keep
    the time they would have been written, because pages show 记录时间 and the teacher's 7-day edit
    window reads created_at. Only for the length of the insert, in the single-threaded command."""
    fields = [
        f
        for m in model_classes
        for f in m._meta.concrete_fields
        if isinstance(f, models.DateField | models.TimeField) and (f.auto_now or f.auto_now_add)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, add in saved:
            f.auto_now, f.auto_now_add = now, add


def _row_maker(model: type[models.Model]) -> Callable[..., Any]:
    """Build instances from positional values in field order: for half a million talk records,
    Model.__init__ with keyword arguments and related objects is the seeder's slowest line."""
    fields = model._meta.concrete_fields
    defaults = {f.attname: f.get_default() for f in fields}

    def make(**values: Any) -> Any:
        if not values.keys() <= defaults.keys():
            raise TypeError(f"{model.__name__} has no field {sorted(values.keys() - defaults.keys())}")
        row = defaults | values
        return model(*(row[f.attname] for f in fields))

    return make


_talk_row = _row_maker(TalkRecord)


def _bulk(ctx: DemoContext, model: type[models.Model], objs: Sequence[Any], label: str = "") -> None:
    """ctx.insert without its log line (talks are inserted chunk by chunk and logged once)."""
    with _timestamps_as_given(model):
        model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
    label = label or str(model._meta.verbose_name_plural)
    ctx.counts[label] = ctx.counts.get(label, 0) + len(objs)


# --- The seeder -----------------------------------------------------------------------------------


@dataclass
class _Span:
    """One pairing in one term: the school weeks it is active in, up to the current week."""

    pairing: Pairing
    term: Term
    weeks: list[calendar.SchoolWeek]
    current: bool  # the term containing today


@dataclass
class Seeder:
    ctx: DemoContext
    terms: list[Term]
    texts: Texts
    officers: dict[int, Any]  # school id -> the officer's user
    colleagues: dict[int, list[str]]  # school id -> teachers' names
    children: dict[int, Child]  # student id -> Child
    pool: list[tuple[str, int]]
    now: dt.datetime = field(default_factory=timezone.now)
    zone: dt.tzinfo = field(default_factory=timezone.get_current_timezone)
    talks: list[TalkRecord] = field(default_factory=list)
    visits: list[HomeVisit] = field(default_factory=list)
    visit_policies: list[list[int]] = field(default_factory=list)
    excused: list[ExcusedWeek] = field(default_factory=list)
    policy_ids: dict[str, list[int]] = field(default_factory=dict)
    # Student id -> the spans in which they were not 在校 (休学 …): no talks, no visits then.
    away: dict[int, list[tuple[dt.date, dt.date | None]]] = field(default_factory=dict)
    # Pairing id -> Mondays left without a talk for a case (a 补录 to come, an excused week).
    blank: dict[int, set[dt.date]] = field(default_factory=dict)

    @property
    def rng(self) -> random.Random:
        return self.ctx.rng

    @property
    def today(self) -> dt.date:
        return self.ctx.today

    def at(self, day: dt.date, earliest_hour: int = 12, late_days: int = 0) -> dt.datetime:
        """A moment on ``day`` (or a few days later), never after now."""
        hour = self.rng.randint(earliest_hour, 21)
        moment = dt.datetime.combine(
            day + dt.timedelta(days=late_days),
            dt.time(hour, self.rng.randrange(60)),
            tzinfo=self.zone,
        )
        return min(moment, self.now)

    def is_away(self, student_id: int, day: dt.date) -> bool:
        return any(start <= day and (end is None or day < end) for start, end in self.away.get(student_id, ()))

    # Talks -----------------------------------------------------------------------------------

    def add_weeks(self, span: _Span, plan: Plan) -> None:
        """Each owed school week up to today (active, the student 在校): done (one talk, sometimes
        two), missed, or excused."""
        this_monday = calendar.monday_of(self.today)
        elapsed = sum(1 for w in span.weeks if w.monday < this_monday)
        pairing = span.pairing
        blank = self.blank.get(pairing.pk, set())
        for i, week in enumerate(span.weeks):
            days = [
                d
                for d in week.school_days
                if pairing.active_on(d) and d <= self.today and not self.is_away(pairing.student_id, d)
            ]
            if not days or week.monday in blank:
                continue
            from_end = elapsed - 1 - i  # 0: the last elapsed week; -1: the current week
            if from_end < 0:
                if self._current_week_done(plan, week):
                    self._talks_in(span, plan, week, days, double=False)
            elif span.current and from_end < plan.tail_missed:
                continue
            elif (span.current and from_end == 0 and plan.tail_done) or self.rng.random() >= plan.miss_rate:
                self._talks_in(span, plan, week, days, double=self.rng.random() < plan.double_rate)
            elif self.rng.random() < (0.15 if plan.miss_rate < 0.1 else 0.04):
                self._excuse(span.pairing, week)

    def _current_week_done(self, plan: Plan, week: calendar.SchoolWeek) -> bool:
        """About half by now: more as the week goes on (a third on Monday, some 60% by Friday)."""
        if plan.this_week is not None:
            return plan.this_week
        gone = sum(1 for d in week.school_days if d <= self.today) / len(week.school_days)
        return self.rng.random() < (0.3 + 0.35 * gone) * (1 - plan.miss_rate)

    def _talks_in(
        self, span: _Span, plan: Plan, week: calendar.SchoolWeek, days: list[dt.date], *, double: bool
    ) -> None:
        rng = self.rng
        usual = [d for d in days if d.weekday() == plan.weekday]
        first = usual[0] if usual and rng.random() < 0.6 else rng.choice(days)
        chosen = [first]
        if double and len(days) > 1:
            chosen.append(rng.choice([d for d in days if d != first]))
        for day in sorted(chosen):
            self._talk(span, day, week.number)

    def _talk(self, span: _Span, day: dt.date, week_number: int) -> None:
        pairing = span.pairing
        talk = self.texts.talk(self.children[pairing.student_id], day, week_number)
        created = self.at(day, late_days=1 if self.rng.random() < 0.08 else 0)
        edited = created + dt.timedelta(minutes=self.rng.randint(5, 600)) if self.rng.random() < 0.05 else created
        self.talks.append(
            _talk_row(
                pairing_id=pairing.pk,
                term_id=span.term.pk,
                date=day,
                week_monday=calendar.monday_of(day),  # save() derives it; bulk_create does not call save()
                duration_minutes=talk.duration,
                content=talk.content,
                student_state=talk.state,
                problems=talk.problems,
                measures=talk.measures,
                next_steps=talk.next_steps,
                recorded_by_id=pairing.teacher.user_id,
                created_at=created,
                updated_at=min(edited, self.now),
                **talk.tags,
            )
        )
        if len(self.talks) >= CHUNK:
            self.flush_talks()

    def flush_talks(self) -> None:
        _bulk(self.ctx, TalkRecord, self.talks)
        self.talks = []

    def _excuse(self, pairing: Pairing, week: calendar.SchoolWeek) -> None:
        officer = self.officers.get(pairing.teacher.school_id)  # the school the pairing was at
        if officer is None:
            return
        reason = self.rng.choices([r for r, _ in EXCUSE_WEIGHTS], weights=[w for _, w in EXCUSE_WEIGHTS])[0]
        self.excused.append(
            ExcusedWeek(
                pairing=pairing,
                week_monday=week.monday,
                reason=reason,
                note=self.rng.choice(EXCUSE_NOTES[reason]),
                excused_by=officer,
                created_at=self.at(week.school_days[-1], earliest_hour=9, late_days=self.rng.randint(0, 3)),
            )
        )

    # Home visits -----------------------------------------------------------------------------

    def add_visits(self, span: _Span, plan: Plan) -> None:
        """About one a pairing a term (a few have two); in the current term as many as the term's
        progress allows (some 85% by two thirds of the term); none from a teacher who never visits."""
        pairing, term, rng = span.pairing, span.term, self.rng
        first = max(term.start_date + dt.timedelta(days=7), pairing.started_on)
        last = min(term.end_date - dt.timedelta(days=3), self.today)
        if pairing.ended_on is not None:
            last = min(last, pairing.ended_on - dt.timedelta(days=1))
        if not plan.visits or last < first:
            return
        if span.current:
            progress = (self.today - term.start_date).days / max(1, (term.end_date - term.start_date).days)
            wanted = plan.visit_now if plan.visit_now is not None else rng.random() < 0.89 * min(1, progress / 0.55)
            count = int(wanted)
        else:
            count = 0 if rng.random() < 0.03 else 2 if rng.random() < 0.08 else 1
        days: list[dt.date] = []
        for _ in range(count):
            day = self._visit_day(first, last)
            if self.is_away(pairing.student_id, day):
                continue
            if all(abs((day - other).days) >= 14 for other in days):  # a second visit comes weeks later
                days.append(day)
        for day in sorted(days):
            self._visit(span, day)

    def _visit_day(self, first: dt.date, last: dt.date) -> dt.date:
        """Often a weekend: the parents are at home then."""
        day = first + dt.timedelta(days=self.rng.randint(0, (last - first).days))
        if day.weekday() < 5 and self.rng.random() < 0.5:
            weekend = day + dt.timedelta(days=5 - day.weekday() + self.rng.randint(0, 1))
            day = weekend if weekend <= last else day
        return day

    def _visit(self, span: _Span, day: dt.date) -> None:
        pairing, rng = span.pairing, self.rng
        child = self.children[pairing.student_id]
        teacher = pairing.teacher.user
        company = rng.random()
        school_id = pairing.teacher.school_id  # the school the pairing was at
        visitors = teacher.full_name
        if company < 0.3 and school_id in self.officers:
            visitors += f"、{self.officers[school_id].full_name}(学校资助专干)"
        elif company < 0.6:
            others = [n for n in self.colleagues.get(school_id, []) if n != teacher.full_name]
            visitors += f"、{rng.choice(others)}" if others else ""
        created = self.at(day, earliest_hour=17, late_days=rng.choice([0, 0, 0, 1, 2]))
        self.visits.append(
            HomeVisit(
                pairing=pairing,
                term=span.term,
                date=day,
                visitors=visitors[:100],
                recorded_by=teacher,
                created_at=created,
                updated_at=created,
                **self.texts.visit(child, day),
            )
        )
        self.visit_policies.append(self._policies(child.stage))

    def _policies(self, stage: str) -> list[int]:
        own, general = self.policy_ids[stage], self.policy_ids[""]
        chosen = self.rng.sample(own, min(len(own), self.rng.randint(1, 2)))
        return chosen + self.rng.sample(general, self.rng.choice([0, 0, 1, 1, 2]))

    def insert_visits(self) -> None:
        _bulk(self.ctx, HomeVisit, self.visits)
        through = HomeVisit.policies.through
        links = [
            through(homevisit_id=v.pk, aidpolicy_id=p)
            for v, ids in zip(self.visits, self.visit_policies, strict=True)
            for p in ids
        ]
        _bulk(self.ctx, through, links, label="家访宣讲的资助政策")
        photos = []
        for visit in self.visits:
            for name, size in self.rng.sample(self.pool, self.rng.choices([0, 1, 2, 3], weights=[15, 35, 35, 15])[0]):
                photos.append(
                    HomeVisitPhoto(
                        visit=visit,
                        image=name,
                        content_type="image/jpeg",
                        width=PHOTO_WIDTH,
                        height=PHOTO_HEIGHT,
                        size=size,
                        uploaded_at=visit.created_at,
                    )
                )
        _bulk(self.ctx, HomeVisitPhoto, photos)


# --- Entry points ---------------------------------------------------------------------------------


def holds_records() -> bool:
    return TalkRecord.objects.exists() or HomeVisit.objects.exists()


def _policies_by_stage() -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """Short names (for the talk texts) and ids (for the visits) of the policies applying to each
    stage; "" holds the ones for every stage."""
    policies = list(AidPolicy.objects.filter(is_active=True))
    names = {s: [p.name.split("(")[0] for p in policies if p.applies_to(s)] or ["学生资助政策"] for s in Stage.values}
    ids = {s: [p.pk for p in policies if p.stages and s in p.stages] for s in Stage.values}
    ids[""] = [p.pk for p in policies if not p.stages]
    return names, ids


def demo_teacher_pairings(ground: GroundFloor) -> list[Pairing]:
    """The demo teacher's active pairings, oldest first (the one taken over mid-term last)."""
    mine = [p for p in ground.pairings if p.teacher_id == ground.demo_teacher.pk and p.ended_on is None]
    return sorted(mine, key=lambda p: p.started_on)


def _plans(ctx: DemoContext, ground: GroundFloor) -> dict[int, Plan]:
    """A plan per pairing: its teacher's habit; the demo teacher's three shown states; a diligent
    teacher before the takeover, so the demo teacher sees the help already given this term."""
    habits: dict[int, Plan] = {}
    plans = {}
    for pairing in ground.pairings:
        if pairing.teacher_id not in habits:
            habits[pairing.teacher_id] = teacher_plan(ctx.rng)
        plans[pairing.pk] = habits[pairing.teacher_id]
    for pairing, shown in zip(demo_teacher_pairings(ground), DEMO_TEACHER_PLANS, strict=False):
        plans[pairing.pk] = Plan(0.03, 0.06, 2, visits=True, **shown)
    if ground.cases is not None:
        plans[ground.cases.handed_over.pk] = Plan(0.02, 0.06, 3, visits=True, tail_done=True)
        if ground.cases.moved is not None:
            # No missed week before the move: swept after it, a reminder about the old school's
            # weeks would go to the new school's officer (the sweep names the student's school).
            plans[ground.cases.moved.pk] = Plan(0.0, 0.04, 1, visits=True)
    return plans


def seed(ctx: DemoContext) -> None:
    ground = ctx.shared["pairing"]
    names, ids = _policies_by_stage()
    members = _family_members()
    children = {s.pk: make_child(ctx.rng, s, members.get(s.household_id, [])) for s in ground.students}
    staff_users = ground.teachers
    colleagues: dict[int, list[str]] = defaultdict(list)
    for t in staff_users:
        if t.user.role == Role.TEACHER:
            colleagues[t.school_id].append(t.user.full_name)
    seeder = Seeder(
        ctx=ctx,
        terms=ground.terms,
        texts=Texts(ctx.rng, names),
        officers={t.school_id: t.user for t in staff_users if t.user.role == Role.OFFICER},
        colleagues=colleagues,
        children=children,
        pool=write_photo_pool(random.Random(ctx.rng.random())),
        policy_ids=ids,
    )
    ctx.log(f"家访照片素材: {POOL_SIZE} 张,位于 MEDIA_ROOT/{POOL_DIR}/")
    seeder.away = _absences()
    cases = _plan_cases(ctx, seeder, ground)
    _seed_terms(ctx, seeder, ground.pairings, _plans(ctx, ground))
    _write_excused_week(ctx, seeder, cases)
    _sweep_reminders(ctx, seeder)
    _write_late_entry(ctx, seeder, cases)
    _write_cards(ctx, seeder, ground)
    seed_counselling(ctx, ground)
    _write_quality(ctx, seeder, ground)
    ctx.shared["guidance"] = {"pool": [name for name, _ in seeder.pool]}


def _seed_terms(ctx: DemoContext, seeder: Seeder, pairings: list[Pairing], plans: dict[int, Plan]) -> None:
    school_ids = {p.student.school_id for p in pairings}
    current = seeder.terms[-1]
    for term in seeder.terms:
        weeks_of = school_weeks_by_school(term, school_ids)  # one query: the term's closures
        for pairing in pairings:
            school = weeks_of[pairing.student.school_id]
            lo, hi = school.active_span(pairing.started_on, pairing.ended_on)
            weeks = [w for w in school.weeks[lo:hi] if w.school_days[0] <= ctx.today]
            span = _Span(pairing, term, weeks, current=term.pk == current.pk)
            seeder.add_weeks(span, plans[pairing.pk])
            seeder.add_visits(span, plans[pairing.pk])
    seeder.flush_talks()
    ctx.log(f"谈心谈话与学业辅导记录: {ctx.counts.get(str(TalkRecord._meta.verbose_name_plural), 0)}")
    # Rows bulk-created, past the talk services: the per-pairing tallies are built in one pass.
    ctx.log(f"结对学期统计: {tally_rebuild(terms=seeder.terms)}")
    seeder.insert_visits()
    _bulk(ctx, ExcusedWeek, seeder.excused)
    ctx.log(f"家访记录: {len(seeder.visits)}; 免记周: {len(seeder.excused)}")


# --- The cases a walk through the demo meets ---------------------------------------------------
# pairing's seeder wrote the 休学, the return, the takeover and the transfer (ground.cases); here: a
# 补录 with its reason, an excused week at the demo school this term, and the reminders swept.

LATE_REASON = "教师该周外出参加市级培训,培训前已与学生谈话,返校后未及时录入,申请补录"
CASE_EXCUSE = (ExcuseReason.ILLNESS, "学生患流感请假在家")


@dataclass
class _Cases:
    officer: Any  # demo_officer's user: grants the 补录, excuses the week
    late: Pairing  # the demo teacher's oldest pairing: a talk for late_week entered late
    late_week: calendar.SchoolWeek
    excused: Pairing  # a colleague's pairing at the demo school, excused_week excused
    excused_week: calendar.SchoolWeek | None  # None: the current term has no school week yet


def _absences() -> dict[int, list[tuple[dt.date, dt.date | None]]]:
    """Per student with an enrollment history, the spans they were not 在校 (one query, few rows)."""
    history: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
    rows = EnrollmentChange.objects.order_by("student_id", "effective_on", "pk")
    for student_id, day, status in rows.values_list("student_id", "effective_on", "status"):
        history[student_id].append((day, status))
    return {student_id: absences(changes) for student_id, changes in history.items()}


def _plan_cases(ctx: DemoContext, seeder: Seeder, ground: GroundFloor) -> _Cases | None:
    """Which pairing and week each case takes; their weeks are left without a talk meanwhile."""
    cases = ground.cases
    if cases is None:
        return None
    weeks = case_weeks(ground.terms, ctx.today)
    current = ground.terms[-1]
    busy = {cases.suspended.pk, cases.returned.pk, cases.handed_over.pk, cases.taken_over.pk}
    colleagues = [
        p
        for p in ground.pairings
        if p.ended_on is None
        and p.student.school_id == ground.demo_school.pk
        and p.teacher_id != ground.demo_teacher.pk
        and p.pk not in busy
    ]
    recent = (weeks_back(weeks, n) for n in (2, 1, 0))
    planned = _Cases(
        officer=cases.officer.user,
        late=demo_teacher_pairings(ground)[0],
        late_week=weeks_back(weeks, 4),  # older than the open window (this week and the last)
        excused=ctx.rng.choice(colleagues),
        excused_week=next((w for w in recent if w.school_days[0] >= current.start_date), None),
    )
    seeder.blank[planned.late.pk] = {planned.late_week.monday}
    if planned.excused_week is not None:
        seeder.blank[planned.excused.pk] = {planned.excused_week.monday}
    return planned


def _write_excused_week(ctx: DemoContext, seeder: Seeder, cases: _Cases | None) -> None:
    if cases is None or cases.excused_week is None:
        return
    reason, note = CASE_EXCUSE
    week = cases.excused_week
    excused = services.excused_week_create(
        pairing=cases.excused,
        week_monday=week.monday,
        reason=reason,
        note=note,
        excused_by=cases.officer,
        term=seeder.terms[-1],
        as_of=ctx.today,
    )
    ExcusedWeek.objects.filter(pk=excused.pk).update(created_at=seeder.at(week.school_days[0], earliest_hour=9))
    label = str(ExcusedWeek._meta.verbose_name_plural)
    ctx.counts[label] = ctx.counts.get(label, 0) + 1


def _sweep_reminders(ctx: DemoContext, seeder: Seeder) -> None:
    """The reminder sweep as beat runs it, once for each school week of the current term begun by
    today, on the week's first school day (so each is swept once, on time: its SweepRun row); its
    rows dated that morning, and read by now when more than a week old."""
    started = time.monotonic()
    if connection.vendor == "postgresql":
        # Fresh statistics for the tables just bulk-loaded (autovacuum has not seen them yet): without
        # them PostgreSQL plans the engine's talk aggregate as a nested loop, minutes county-wide.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    weeks = [w for w in seeder.terms[-1].school_weeks() if w.school_days[0] <= ctx.today]
    made = [0, 0]
    for week in weeks:
        last_reminder = Reminder.objects.aggregate(last=Max("pk"))["last"] or 0
        last_notice = Notification.objects.aggregate(last=Max("pk"))["last"] or 0
        result = reminders.sweep(on=week.school_days[0])
        made[0] += result.reminders_created
        made[1] += result.notifications_created
        morning = min(dt.datetime.combine(week.school_days[0], dt.time(7, 30), tzinfo=seeder.zone), seeder.now)
        read = morning + dt.timedelta(hours=10) if morning < seeder.now - dt.timedelta(days=7) else None
        Reminder.objects.filter(pk__gt=last_reminder).update(created_at=morning)
        Notification.objects.filter(pk__gt=last_notice).update(created_at=morning, read_at=read)
        SweepRun.objects.filter(week_monday=week.monday).update(done_at=morning)
    ctx.counts[str(Reminder._meta.verbose_name_plural)] = made[0]
    ctx.counts[str(Notification._meta.verbose_name_plural)] = made[1]
    ctx.log(f"提醒: {len(weeks)} 个教学周, {made[0]} 条提醒, {made[1]} 条站内通知, {time.monotonic() - started:.1f} 秒")


def _write_late_entry(ctx: DemoContext, seeder: Seeder, cases: _Cases | None) -> None:
    """The officer's 补录 permission for an old week and the talk entered under it (after the sweep,
    so that it answers the week's reminder as it would have)."""
    if cases is None:
        return
    pairing, week = cases.late, cases.late_week
    permission = services.late_entry_permit(
        pairing=pairing, week_monday=week.monday, reason=LATE_REASON, granted_by=cases.officer
    )
    day = week.school_days[0]
    talk = seeder.texts.talk(seeder.children[pairing.student_id], day, week.number)
    record = services.talk_record_create(
        pairing=pairing,
        recorded_by=pairing.teacher.user,
        date=day,
        duration_minutes=talk.duration,
        content=talk.content,
        student_state=talk.state,
        tracks=[f for f in TRACK_FIELDS if talk.tags[f]],
        help_forms=[f for f in FORM_FIELDS if talk.tags[f]],
        problems=talk.problems,
        measures=talk.measures,
        next_steps=talk.next_steps,
    )
    granted = seeder.at(min(week.sunday + dt.timedelta(days=2), ctx.today), earliest_hour=9)
    entered = min(granted + dt.timedelta(minutes=40), seeder.now)
    LateEntryPermission.objects.filter(pk=permission.pk).update(created_at=granted)
    TalkRecord.objects.filter(pk=record.pk).update(created_at=entered, updated_at=entered)
    Reminder.objects.filter(pairing=pairing, period=week.monday, resolved_at__isnull=False).update(resolved_at=entered)
    ctx.counts[str(LateEntryPermission._meta.verbose_name_plural)] = 1
    label = str(TalkRecord._meta.verbose_name_plural)
    ctx.counts[label] = ctx.counts.get(label, 0) + 1


def flush(ctx: DemoContext) -> None:
    """Every guidance row (only called when the database holds demo data alone) and the photo pool.
    Photos uploaded while trying the demo go too, once the transaction commits."""
    uploads = list(HomeVisitPhoto.objects.exclude(image__startswith=f"{POOL_DIR}/").values_list("image", flat=True))
    raw_delete(ctx, HomeVisitPhoto.objects.all())
    raw_delete(ctx, HomeVisit.policies.through.objects.all(), label="家访宣讲的资助政策")
    # Notifications before their reminders, talks before the 补录 permissions they were written under.
    for model in (
        FiveThreeCard,
        Delivery,
        Notification,
        TalkRecordRevision,
        TalkRecordFlag,
        Reminder,
        SweepRun,
        ReminderPreference,
        HomeVisit,
        PairingTermTally,
        TalkRecord,
        LateEntryPermission,
        ExcusedWeek,
    ):
        raw_delete(ctx, model.objects.all())
    flush_counselling(ctx)
    # The pool goes now, not on commit: the seed that follows a --flush in the same transaction
    # writes it again under the same names.
    _delete_pool()
    transaction.on_commit(lambda: _delete_files(uploads))


def _delete_files(names: list[str]) -> None:
    for name in names:
        private_storage.delete(name)


# --- 五三卡 ------------------------------------------------------------------------------------------
# At the demo school: every past term's cards filled and reviewed; this term, demo_teacher's first
# two students' cards filled (reviewed too once the term-end window has begun), the third's missing,
# and about two in three of the colleagues' students' filled, so the officer's dashboard lists the
# missing ones (and, at term end, those not reviewed).

CARD_WORDS = {
    "highlights": ["乐于助人", "劳动积极", "字写得工整", "爱读课外书", "体育好", "有礼貌", "做事认真"],
    "breakthroughs": ["数学计算准确", "英语单词记忆", "上课主动发言", "按时完成作业", "作文字数写够", "早睡早起"],
    "mottos": ["少壮不努力,老大徒伤悲", "一寸光阴一寸金", "书山有路勤为径", "不积跬步,无以至千里", "业精于勤荒于嬉"],
    "role_models": ["张桂梅校长", "袁隆平院士", "雷锋", "同桌王同学", "本校考上大学的学长", "黄文秀"],
    "promises": ["每天读书半小时", "不带手机进校园", "每周给父母打电话", "错题当天订正", "帮奶奶做家务", "不迟到"],
}
CARD_NOTES = {
    CardMark.DONE: ["坚持得很好", "老师和家长都看到了进步", ""],
    CardMark.TRYING: ["还需要提醒", "有进步,下学期继续", "偶尔做不到"],
    CardMark.NOT_DONE: ["下学期重新约定", "需要家长配合"],
}


def _card_marks(rng: random.Random) -> list[dict[str, str]]:
    marks = rng.choices(list(CARD_NOTES), weights=[5, 3, 1], k=ITEMS_PER_SECTION)
    return [{"mark": m.value, "note": rng.choice(CARD_NOTES[m])} for m in marks]


def _card(
    ctx: DemoContext, rng: random.Random, seeder: Seeder, pairing: Pairing, term: Term, *, reviewed: bool
) -> FiveThreeCard:
    def at(day: dt.date) -> dt.datetime:  # an afternoon of ``day``, never after now
        moment = dt.datetime.combine(day, dt.time(rng.randint(15, 20), rng.randrange(60)), tzinfo=seeder.zone)
        return min(moment, seeder.now)

    filled = at(min(term.start_date + dt.timedelta(days=rng.randint(10, 30)), ctx.today))
    card = FiveThreeCard(
        student_id=pairing.student_id,
        term=term,
        recorded_by_id=pairing.teacher.user_id,
        filled_at=filled,
        updated_at=filled,
        **{section: rng.sample(words, ITEMS_PER_SECTION) for section, words in CARD_WORDS.items()},
    )
    if reviewed:
        card.breakthrough_marks, card.promise_marks = _card_marks(rng), _card_marks(rng)
        card.reviewed_at = at(min(review_opens_on(term) + dt.timedelta(days=rng.randint(0, 6)), ctx.today))
        card.reviewed_by_id = pairing.teacher.user_id
        card.updated_at = card.reviewed_at
        card.version = 2
    return card


def _write_cards(ctx: DemoContext, seeder: Seeder, ground: GroundFloor) -> None:
    # A generator of its own, so the seeders after this one draw what they drew before the cards came.
    rng = random.Random(f"five-three-{ctx.seed}")
    mine = demo_teacher_pairings(ground)
    mine_students = {p.student_id for p in mine}
    # This term's missing cards: demo_teacher's third student's, and about one colleague's in three.
    school = sorted({p.student_id for p in ground.pairings if p.student.school_id == ground.demo_school.pk})
    missing = {s for s in school if s not in mine_students and rng.random() < 0.35}
    missing |= {p.student_id for p in mine[2:3]}
    cards: dict[tuple[int, int], FiveThreeCard] = {}
    for term in seeder.terms:
        current = term.pk == seeder.terms[-1].pk
        window = ctx.today >= review_opens_on(term)
        for pairing in sorted(ground.pairings, key=lambda p: p.started_on):  # the later pairing fills
            if pairing.student.school_id != ground.demo_school.pk or pairing.started_on > min(term.end_date, ctx.today):
                continue
            if pairing.ended_on is not None and pairing.ended_on < term.start_date:
                continue
            if current and pairing.student_id in missing:
                continue
            reviewed = window and (not current or pairing in mine[:1] or rng.random() < 0.5)
            cards[(pairing.student_id, term.pk)] = _card(ctx, rng, seeder, pairing, term, reviewed=reviewed)
    _bulk(ctx, FiveThreeCard, list(cards.values()))
    ctx.log(f"五三卡: {len(cards)}")


# --- Record quality ----------------------------------------------------------------------------------
# At the demo school, flags of each kind for the officer's queue: besides what the nightly check finds
# in the generated texts (a few short ones, the 补录 above), demo_teacher copied an earlier record
# into a later week (内容雷同, returned to her: it is on her page), a colleague entered three weeks
# in one evening (集中补录) and wrote one record of a few words (篇幅过短, returned, revised with its
# earlier text kept, and passed). Only the demo school is checked here, so seeding stays fast at
# county scale; ``manage.py quality_detect`` (nightly in production) checks the county.

COPY_EDITS = (("数学", "语文"), ("作业", "练习"))
BATCH_WEEKS_SHOWN = 3
SHORT_TEXT = ("谈话,正常。", "正常。")
RETURN_COPY = "这条记录和您之前的一条几乎一样,请按本次谈话的实际情况重写。"
RETURN_SHORT = "记录过于简单,请补充谈话的具体内容、学生状态和下一步打算。"
REVISED_SHORT = (
    "和孩子聊了这周的学习和生活。他说数学课上听不太懂分数的计算,我们一起做了五道题,找到了通分时常出的错。"
    "他最近和同桌闹了点矛盾,我建议他主动说明情况。下周继续看分数练习,并和班主任沟通座位安排。"
)


def _locked_talks(school_id: int, teacher_user_id: int | None = None, *, exclude: int | None = None) -> Any:
    """The school's talk records of active pairings, locked for editing already (older than a week)."""
    talks = TalkRecord.objects.filter(
        pairing__student__school_id=school_id,
        pairing__ended_on__isnull=True,
        created_at__lt=timezone.now() - dt.timedelta(days=TalkRecord.EDIT_DAYS + 1),
        late_permission__isnull=True,
    ).order_by("-date", "pk")
    if teacher_user_id is not None:
        talks = talks.filter(recorded_by_id=teacher_user_id)
    if exclude is not None:
        talks = talks.exclude(recorded_by_id=exclude)
    return talks


def _write_quality(ctx: DemoContext, seeder: Seeder, ground: GroundFloor) -> None:
    school = ground.demo_school
    teacher_user = ground.demo_teacher.user_id
    officer = seeder.officers.get(school.pk)
    mine = list(_locked_talks(school.pk, teacher_user)[:6])
    theirs = list(_locked_talks(school.pk, exclude=teacher_user)[:20])
    if officer is None or len(mine) < 6 or len(theirs) < 20:
        return
    # 内容雷同: the later record made a copy of an earlier one, a few words changed.
    earlier, copy = mine[5], mine[1]
    text = earlier.content
    for old, new in COPY_EDITS:
        text = text.replace(old, new, 1)
    TalkRecord.objects.filter(pk=copy.pk).update(
        content=text,
        student_state=earlier.student_state,
        problems=earlier.problems,
        measures=earlier.measures,
        next_steps=earlier.next_steps,
    )
    # 集中补录: three weeks of one colleague's pairing entered one evening, minutes apart.
    pairing_id = theirs[0].pairing_id
    by_week: dict[dt.date, TalkRecord] = {}
    for talk in _locked_talks(school.pk, exclude=teacher_user).filter(pairing_id=pairing_id)[:20]:
        by_week.setdefault(talk.week_monday, talk)
    batch = list(by_week.values())[:BATCH_WEEKS_SHOWN]
    if len(batch) < BATCH_WEEKS_SHOWN:
        return
    evening = seeder.at(batch[0].date, earliest_hour=21)
    for i, talk in enumerate(batch):
        moment = evening + dt.timedelta(minutes=7 * i)
        TalkRecord.objects.filter(pk=talk.pk).update(created_at=moment, updated_at=moment)
    # 篇幅过短: a record of a few words (of another pairing).
    short = next(t for t in theirs if t.pairing_id != pairing_id)
    TalkRecord.objects.filter(pk=short.pk).update(
        content=SHORT_TEXT[0], student_state=SHORT_TEXT[1], problems="", measures="", next_steps=""
    )
    found = quality.flags_detect(talks=TalkRecord.objects.filter(pairing__student__school_id=school.pk))
    _review_demo_flags(copy=copy, short=short, officer=officer)
    ctx.counts[str(TalkRecordFlag._meta.verbose_name_plural)] = TalkRecordFlag.objects.count()
    ctx.log(f"记录质量疑点: {found.summary()}")


def _review_demo_flags(*, copy: TalkRecord, short: TalkRecord, officer: Any) -> None:
    """The copy returned to demo_teacher (on her page); the short record returned, revised and passed;
    one more of the school's flags passed as it stands."""
    similar = TalkRecordFlag.objects.get(talk=copy, kind="similar")
    quality.flag_return(flag=similar, by=officer, comment=RETURN_COPY, version=similar.version)
    flag = TalkRecordFlag.objects.get(talk=short, kind="short")
    flag = quality.flag_return(flag=flag, by=officer, comment=RETURN_SHORT, version=flag.version)
    record = TalkRecord.objects.select_related("pairing__teacher__user").get(pk=short.pk)
    services.talk_record_update(
        record=record,
        by=record.pairing.teacher.user,
        content=REVISED_SHORT,
        student_state="情绪还可以,说到和同桌的矛盾时有些委屈。",
        next_steps="下周检查分数练习,和班主任沟通座位。",
        version=record.version,
    )
    flag.refresh_from_db()
    quality.flag_clear(flag=flag, by=officer, version=flag.version)
    other = (
        TalkRecordFlag.objects.filter(talk__pairing__student__school_id=copy.pairing.student.school_id, status="open")
        .exclude(kind="batch")
        .order_by("pk")
        .first()
    )
    if other is not None:
        quality.flag_clear(flag=other, by=officer, version=other.version)
