"""One-line audit entries for the automation services (accounts/audit.py writes them)."""

from __future__ import annotations

from accounts.audit import audit_record
from accounts.models import AuditKind
from automations.models import Automation

Kind = AuditKind


def automation_audit(kind: AuditKind, automation: Automation, actor, summary: str = "") -> None:
    audit_record(
        kind=kind, team=automation.project.team, actor=actor, obj=automation, summary=summary
    )
