from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models

from .access import Role


class User(AbstractUser):
    """An account. Its role decides the pages it gets; its scope decides the rows (see access.py).

    School roles (teacher, officer, counsellor) also have a staff row, ``pairing.Teacher``, that
    places them in a school.
    """

    full_name = models.CharField("姓名", max_length=50, blank=True)
    phone = models.CharField("手机号", max_length=20, blank=True)
    role = models.CharField("角色", max_length=20, choices=Role.choices, blank=True)
    # Set when someone else chose the password (a reset by the 资助专干 or 市资助中心): the
    # PasswordChangeRequiredMiddleware holds the user on the password change page until they pick
    # their own, and the password change clears it.
    must_change_password = models.BooleanField("下次登录须修改密码", default=False)
    # 心理健康档案 are read by the school's counsellors and by the county staff designated here (by the
    # 系统管理员, in the Django admin; the change is audited like every account change). Only
    # county accounts are ever designated: scope_of ignores the flag on any other role.
    reads_counselling = models.BooleanField(
        "可查阅心理健康档案(市中心指定人员)",
        default=False,
        help_text="仅对市资助中心账号有效:勾选后可查阅全市学生的心理辅导记录、测评结果与风险等级。",
    )

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or super().get_full_name() or self.username


class AuditAction(models.TextChoices):
    CREATE = "create", "新增"
    UPDATE = "update", "修改"
    DELETE = "delete", "删除"
    VIEW = "view", "查看完整信息"
    EXPORT = "export", "导出"
    LOGIN = "login", "登录"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOGOUT = "logout", "退出"
    # Account actions of the 资助专干 and 市资助中心 (pairing/accounts.py), one line each.
    PASSWORD_RESET = "password_reset", "重置密码"
    ACCOUNT_UNLOCK = "account_unlock", "解除登录锁定"
    ACCOUNT_DEACTIVATE = "account_deactivate", "停用账号"
    ACCOUNT_REACTIVATE = "account_reactivate", "重新启用账号"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("审计日志不可修改。")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("审计日志不可删除。")


class AuditEvent(models.Model):
    """One line of the audit log: who did what to which record, when and from where.

    Append-only: the app has no way to change or delete a line (save refuses an existing row,
    the queryset refuses bulk update and delete, the admin is read-only), and on PostgreSQL a
    trigger refuses UPDATE and DELETE from any client (migration 0004).

    Who acted is kept as text (username, name, role) as well as the account's id: a line reads the
    same after the account is renamed, deactivated or (by hand in the database) deleted.
    """

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        "zaoyang_aid.User",
        verbose_name="操作人",
        null=True,
        blank=True,
        # Never touched when the account goes: the line keeps the id (the trigger refuses an UPDATE).
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,  # the log outlives the accounts it names
    )
    actor_username = models.CharField("操作人账号", max_length=150, blank=True)
    actor_name = models.CharField("操作人姓名", max_length=150, blank=True)
    actor_role = models.CharField("角色", max_length=20, choices=Role.choices, blank=True)
    action = models.CharField("操作", max_length=20, choices=AuditAction.choices)
    object_type = models.CharField("对象类型", max_length=50, blank=True)
    object_id = models.CharField("对象编号", max_length=40, blank=True)
    object_label = models.CharField("对象", max_length=200, blank=True)
    # The student a line is about, so that county staff can ask "who looked at this child".
    student_id = models.BigIntegerField("学生编号", null=True, blank=True)
    changes = models.JSONField("变更内容", default=dict, blank=True)
    # Lines written since choice labels, names of related rows and local times went into
    # ``changes``; older lines hold raw values, which the audit page translates as it shows them.
    values_labelled = models.BooleanField("变更内容为显示值", default=True)
    ip_address = models.GenericIPAddressField("来源IP", null=True, blank=True)
    user_agent = models.CharField("浏览器", max_length=300, blank=True)
    path = models.CharField("页面", max_length=300, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-at", "-pk"]
        indexes = [
            # The audit search page: "what happened to this student", newest first.
            models.Index(fields=["student_id", "-at"], name="audit_student_at"),
            # The audit search page: "what did this person do", newest first.
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()} {self.object_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError("审计日志不可修改。")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("审计日志不可删除。")
