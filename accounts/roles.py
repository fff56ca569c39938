"""Who may do what in a team: the one place the role rules live (docs/ROLES.md).

Every interface (API, wizard, admin, services) asks here; none keeps its own copy of a
rule. The matrix is written as the least role each action needs, because the roles are
ordered (each can do everything the one below it can).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


# From most to least powerful.
ROLE_RANK = {Role.OWNER: 4, Role.ADMIN: 3, Role.EDITOR: 2, Role.VIEWER: 1}


class Action(models.TextChoices):
    VIEW = "view", "Read automations, executions and account titles"
    SEE_WEBHOOK_URL = "see_webhook_url", "See webhook URLs (they start runs)"
    RUN = "run", "Start runs (API run, retry)"
    EDIT_AUTOMATIONS = "edit_automations", "Build, test and activate automations"
    USE_ACCOUNTS = "use_accounts", "Use connected accounts in automations"
    MANAGE_ACCOUNTS = "manage_accounts", "Create, change and delete connected accounts"
    MANAGE_VARIABLES = "manage_variables", "Create, change and delete team variables"
    MANAGE_MEMBERS = "manage_members", "Invite and remove members, change roles up to admin"
    MANAGE_OWNERS = "manage_owners", "Grant and remove the owner role, transfer ownership"
    MANAGE_TEAM = "manage_team", "Rename and delete the team"


LEAST_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.SEE_WEBHOOK_URL: Role.EDITOR,
    Action.RUN: Role.EDITOR,
    Action.EDIT_AUTOMATIONS: Role.EDITOR,
    Action.USE_ACCOUNTS: Role.EDITOR,
    Action.MANAGE_ACCOUNTS: Role.ADMIN,
    Action.MANAGE_VARIABLES: Role.ADMIN,
    Action.MANAGE_MEMBERS: Role.ADMIN,
    Action.MANAGE_OWNERS: Role.OWNER,
    Action.MANAGE_TEAM: Role.OWNER,
}

# (role, action) -> allowed.
MATRIX: dict[tuple[Role, Action], bool] = {
    (role, action): ROLE_RANK[role] >= ROLE_RANK[least]
    for role in Role
    for action, least in LEAST_ROLE.items()
}

NEEDS_AN_OWNER = "A team needs an owner: make another member owner first."


def at_least(role: str | None, least: str) -> bool:
    """Whether ``role`` ranks at or above ``least``; no role (not a member) never does."""
    if role not in Role.values:
        return False
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(least)]


def can(role: str | None, action: Action) -> bool:
    if role not in Role.values:
        return False
    return MATRIX[(Role(role), action)]


def roles_that_can(action: Action) -> list[Role]:
    return [role for role in Role if MATRIX[(role, action)]]


def role_change_refusal(
    *,
    actor_role: str | None,
    current_role: str | None,
    new_role: str | None,
    superuser: bool = False,
    own: bool = False,
) -> str | None:
    """Why the actor may not move a member from ``current_role`` to ``new_role``, or None
    when it may. ``current_role`` None adds a member (or invites one); ``new_role`` None
    removes one; ``own`` is the actor's own membership (anyone may leave). Whether the
    team keeps an owner is :func:`owner_refusal`'s question, asked for superusers too."""
    if superuser or current_role == new_role:
        return None
    if own and new_role is None:
        return None
    if not can(actor_role, Action.MANAGE_MEMBERS):
        return "Only the team's owners and admins can change its members."
    if Role.OWNER in (current_role, new_role) and not can(actor_role, Action.MANAGE_OWNERS):
        return "Only an owner can grant or remove the owner role."
    return None


def can_assign_role(actor_role: str | None, current_role: str | None, new_role: str) -> bool:
    return (
        role_change_refusal(actor_role=actor_role, current_role=current_role, new_role=new_role)
        is None
    )


def owner_refusal(owners_after: int) -> str | None:
    """The last owner can neither leave, be removed nor be demoted."""
    return NEEDS_AN_OWNER if owners_after < 1 else None


def refusal(role: str | None, action: Action) -> str:
    """What a refused member is told: the action, the least role it needs, and theirs."""
    least = LEAST_ROLE[action]
    higher = "" if least == Role.OWNER else " or higher"
    yours = Role(role).label.lower() if role in Role.values else "none"
    return (
        f"{action.label} needs the {least.label.lower()} role{higher} in this team; "
        f"your role is {yours}."
    )


def require(role: str | None, action: Action) -> None:
    """Raise PermissionDenied (the site's 403 page, or the API's 403) with the refusal
    unless ``role`` may do ``action``."""
    if not can(role, action):
        raise PermissionDenied(refusal(role, action))


def abilities(role: str | None) -> dict[str, bool]:
    """What the role may do, keyed by action, for templates (``can.manage_members``)."""
    return {action.value: can(role, action) for action in Action}


def assignable_roles(actor_role: str | None) -> list[Role]:
    """The roles an actor may give a member or an invitation."""
    return [role for role in Role if can_assign_role(actor_role, None, role)]
