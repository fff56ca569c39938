"""Writes for teams, memberships, invitations and connected accounts. Each change is
recorded in the audit log in the transaction that makes it (accounts/audit.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.text import slugify

from accounts import crypto, emails, roles
from accounts.audit import audit_record
from accounts.models import (
    AuditKind,
    ConnectedAccount,
    Invitation,
    InvitationState,
    Membership,
    Role,
    Team,
    TeamVariable,
    _invitation_expiry,
    _invitation_token,
    token_hash,
)
from connectors import fields as field_types
from connectors import registry
from connectors.base import ConnectorError


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "team"
    slug, n = base, 2
    while Team.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def team_create(*, name: str, owner) -> Team:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A team needs a name."})
    team = Team.objects.create(name=name, slug=_unique_slug(name))
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def team_ensure_for_user(*, user) -> Team:
    """The user's first team; a personal one is made the first time a user without a team
    needs one, so that a fresh superuser can work at once."""
    membership = Membership.objects.filter(user=user).select_related("team").first()
    if membership:
        return membership.team
    slug = f"personal-{user.pk}"
    try:
        with transaction.atomic():
            team = Team.objects.create(
                name=f"{user.get_username()}'s team", slug=slug, is_personal=True
            )
            Membership.objects.create(team=team, user=user, role=Role.OWNER)
    except IntegrityError:
        # Another request made it first.
        team = Team.objects.get(slug=slug)
    return team


def _actor_role(actor, team: Team) -> str | None:
    if actor is None or not getattr(actor, "pk", None):
        return None
    return Membership.objects.filter(team=team, user=actor).values_list("role", flat=True).first()


def team_require(*, actor, team: Team, action: roles.Action) -> None:
    """PermissionDenied unless ``actor`` may do ``action`` in the team (the platform
    itself, ``actor`` None, and superusers may)."""
    if actor is None or actor.is_superuser:
        return
    roles.require(_actor_role(actor, team), action)


def team_switch(*, user, team: Team) -> None:
    """Remember ``team`` as the one the user works in, across sessions and devices."""
    Membership.objects.filter(user=user, team=team).update(last_used_at=timezone.now())


@transaction.atomic
def team_rename(*, actor, team: Team, name: str) -> Team:
    team_require(actor=actor, team=team, action=roles.Action.MANAGE_TEAM)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A team needs a name."})
    if name == team.name:
        return team
    old, team.name = team.name, name[:100]
    team.save(update_fields=["name"])
    audit_record(
        kind=AuditKind.TEAM_RENAMED,
        team=team,
        actor=actor,
        obj=team,
        summary=f"renamed from {old!r} to {team.name!r}",
    )
    return team


@transaction.atomic
def team_delete(*, actor, team: Team) -> None:
    """Delete the team and everything in it. Its active automations must be switched off
    first, so that no outside service keeps calling a webhook that is gone."""
    team_require(actor=actor, team=team, action=roles.Action.MANAGE_TEAM)
    active = team.projects.filter(automations__active=True).count()
    if active:
        raise ValidationError(
            f"Switch off the team's {active} active automation{'s' if active > 1 else ''} first."
        )
    audit_record(kind=AuditKind.TEAM_DELETED, team=team, actor=actor, obj=team)
    team.delete()


@transaction.atomic
def team_transfer(*, actor, team: Team, user) -> None:
    """Make ``user`` owner and the actor (an owner) admin, in one change."""
    team_require(actor=actor, team=team, action=roles.Action.MANAGE_OWNERS)
    if user.pk == actor.pk:
        raise ValidationError({"user": "You own the team already; choose another member."})
    if not Membership.objects.filter(team=team, user=user).exists():
        raise ValidationError({"user": "Ownership goes to a member of the team."})
    changes = [MemberChange(user, Role.OWNER)]
    if _actor_role(actor, team) == Role.OWNER:
        changes.append(MemberChange(actor, Role.ADMIN))
    memberships_apply(actor=actor, team=team, changes=changes)
    audit_record(
        kind=AuditKind.OWNERSHIP_TRANSFERRED,
        team=team,
        actor=actor,
        obj=user,
        summary=f"ownership handed to {user.get_username()}",
    )


@dataclass(frozen=True)
class MemberChange:
    """One member's new role; ``role`` None removes the member from the team."""

    user: Any
    role: str | None


def memberships_check(*, actor, team: Team, changes: Sequence[MemberChange]) -> None:
    """Raise a ValidationError (on ``role``) unless ``actor`` may make all these changes
    together. ``actor`` None is the platform itself (a command, a fixture): it is held
    only to the rule that a team keeps an owner, as superusers are."""
    current = _roles_in(team)
    _check_changes(actor, current, changes)


def _roles_in(team: Team, *, lock: bool = False) -> dict[int, str]:
    if team.pk is None:
        return {}
    memberships = Membership.objects.filter(team=team)
    if lock:
        # Two admins demoting the last two owners at once must not both succeed.
        memberships = memberships.select_for_update()
    return dict(memberships.values_list("user_id", "role"))


def _check_changes(actor, current: dict[int, str], changes: Sequence[MemberChange]) -> None:
    actor_role = current.get(actor.pk) if actor is not None else None
    superuser = actor is None or actor.is_superuser
    after = dict(current)
    for change in changes:
        if change.role is not None and change.role not in Role.values:
            raise ValidationError({"role": f"must be one of: {', '.join(Role.values)}"})
        refusal = roles.role_change_refusal(
            actor_role=actor_role,
            current_role=current.get(change.user.pk),
            new_role=change.role,
            superuser=superuser,
            own=actor is not None and change.user.pk == actor.pk,
        )
        if refusal:
            raise ValidationError({"role": refusal})
        if change.role is None:
            after.pop(change.user.pk, None)
        else:
            after[change.user.pk] = change.role
    owners_before = sum(role == Role.OWNER for role in current.values())
    owners_after = sum(role == Role.OWNER for role in after.values())
    refusal = roles.owner_refusal(owners_after) if owners_before else None
    if refusal:
        raise ValidationError({"role": refusal})


@transaction.atomic
def memberships_apply(*, actor, team: Team, changes: Sequence[MemberChange]) -> list[Membership]:
    """Make the changes if ``actor`` may make them all (see memberships_check); returns
    the memberships set (removed ones are left out)."""
    current = _roles_in(team, lock=True)
    _check_changes(actor, current, changes)
    kept = []
    for change in changes:
        if change.role is None:
            Membership.objects.filter(team=team, user=change.user).delete()
        else:
            membership, _ = Membership.objects.update_or_create(
                team=team, user=change.user, defaults={"role": change.role}
            )
            kept.append(membership)
        _audit_member_change(actor, team, change, current.get(change.user.pk))
        current[change.user.pk] = change.role
    return kept


def _audit_member_change(actor, team: Team, change: MemberChange, before: str | None) -> None:
    if before == change.role:
        return
    own = actor is not None and actor.pk == change.user.pk
    if change.role is None:
        kind, summary = AuditKind.MEMBER_REMOVED, ("left the team" if own else f"was {before}")
    elif before is None:
        kind, summary = AuditKind.MEMBER_JOINED, f"added as {change.role}"
    else:
        kind, summary = AuditKind.MEMBER_ROLE_CHANGED, f"{before} → {change.role}"
    audit_record(kind=kind, team=team, actor=actor, obj=change.user, summary=summary)


def membership_set(*, actor, team: Team, user, role: str) -> Membership:
    """Add ``user`` to the team or change their role, as ``actor`` (see roles.py)."""
    return memberships_apply(actor=actor, team=team, changes=[MemberChange(user, role)])[0]


def membership_remove(*, actor, membership: Membership) -> None:
    """Remove a member (or let ``actor`` leave); the last owner cannot go."""
    memberships_apply(
        actor=actor, team=membership.team, changes=[MemberChange(membership.user, None)]
    )


def user_delete_check(*, user) -> None:
    """A user who is the last owner of a team cannot be deleted: the team would be left
    with nobody who may manage it. Raise a ValidationError naming those teams."""
    owned = Team.objects.filter(memberships__user=user, memberships__role=Role.OWNER)
    orphaned = [
        team.name
        for team in owned
        if not Membership.objects.filter(team=team, role=Role.OWNER).exclude(user=user).exists()
    ]
    if orphaned:
        names = ", ".join(repr(name) for name in orphaned)
        raise ValidationError(
            f"{user.get_username()} is the last owner of {names}: make another member "
            "owner first, or delete the team."
        )


def invitation_check(*, actor, team: Team, role: str) -> None:
    """Raise a ValidationError (on ``role``) unless ``actor`` may invite someone as
    ``role``: the same rule as giving a member that role."""
    if role not in Role.values:
        raise ValidationError({"role": f"must be one of: {', '.join(Role.values)}"})
    membership = Membership.objects.filter(team=team, user=actor).first() if team.pk else None
    refusal = roles.role_change_refusal(
        actor_role=membership.role if membership else None,
        current_role=None,
        new_role=role,
        superuser=actor.is_superuser,
    )
    if refusal:
        raise ValidationError({"role": refusal})


@transaction.atomic
def invitation_create(
    *, actor, team: Team, email: str, role: str, base_url: str = ""
) -> Invitation:
    """Invite ``email`` as ``role`` and e-mail the link (the token is sent, never kept).
    ``base_url`` is where the link points when PUBLIC_BASE_URL is not set."""
    invitation_check(actor=actor, team=team, role=role)
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid e-mail address."}) from None
    if Membership.objects.filter(team=team, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of the team."})
    pending = [
        i
        for i in Invitation.objects.filter(team=team, email__iexact=email)
        if i.state == InvitationState.PENDING
    ]
    if pending:
        raise ValidationError({"email": f"{email} is invited already: send it again instead."})
    invitation = Invitation(team=team, email=email, role=role, invited_by=actor)
    _send_invitation(invitation, base_url)
    audit_record(
        kind=AuditKind.MEMBER_INVITED,
        team=team,
        actor=actor,
        obj=invitation,
        summary=f"invited {email} as {role}",
    )
    return invitation


def _send_invitation(invitation: Invitation, base_url: str) -> None:
    """A fresh token (an earlier link stops working), a fresh expiry, and the e-mail.
    A failed send raises, so the caller's transaction leaves nothing half-done."""
    token = _invitation_token()
    invitation.token_hash = token_hash(token)
    invitation.expires_at = _invitation_expiry()
    invitation.sent_at = timezone.now()
    invitation.save()
    emails.invitation_send(invitation=invitation, token=token, base_url=base_url)


@transaction.atomic
def invitation_resend(*, actor, invitation: Invitation, base_url: str = "") -> Invitation:
    team_require(actor=actor, team=invitation.team, action=roles.Action.MANAGE_MEMBERS)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError("This invitation was used or revoked; invite again instead.")
    _send_invitation(invitation, base_url)
    audit_record(
        kind=AuditKind.MEMBER_INVITED,
        team=invitation.team,
        actor=actor,
        obj=invitation,
        summary=f"invitation of {invitation.email} sent again",
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, actor, invitation: Invitation) -> None:
    team_require(actor=actor, team=invitation.team, action=roles.Action.MANAGE_MEMBERS)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError("This invitation was used or revoked already.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        kind=AuditKind.INVITATION_REVOKED,
        team=invitation.team,
        actor=actor,
        obj=invitation,
        summary=f"invitation of {invitation.email} revoked",
    )


INVITATION_REFUSALS = {
    InvitationState.ACCEPTED: "This invitation link was used already; it works once.",
    InvitationState.REVOKED: "This invitation was revoked by the team.",
    InvitationState.EXPIRED: "This invitation link has expired; ask the team for a new one.",
}
UNKNOWN_INVITATION = "This invitation link is not valid. Check that it was copied whole."


def invitation_find(*, token: str) -> Invitation | None:
    return Invitation.objects.select_related("team").filter(token_hash=token_hash(token)).first()


def invitation_refusal(*, invitation: Invitation | None, user=None) -> str | None:
    """Why the invitation cannot be accepted (by ``user``, when signed in), or None."""
    if invitation is None:
        return UNKNOWN_INVITATION
    if invitation.state != InvitationState.PENDING:
        return INVITATION_REFUSALS[invitation.state]
    signed_in = user is not None and user.is_authenticated
    if signed_in and (user.email or "").strip().lower() != invitation.email.strip().lower():
        return (
            "This invitation was sent to another e-mail address than your account's. "
            "Sign out, then open the link again, or ask for an invitation to your address."
        )
    return None


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """``user`` (whose e-mail must be the invited one) joins with the invited role."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("team")
        .filter(token_hash=token_hash(token))
        .first()
    )
    refusal = invitation_refusal(invitation=invitation, user=user)
    if refusal:
        raise ValidationError(refusal)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    membership, created = Membership.objects.get_or_create(
        team=invitation.team,
        user=user,
        defaults={"role": invitation.role, "last_used_at": timezone.now()},
    )
    if created:
        inviter = invitation.invited_by.get_username() if invitation.invited_by else "-"
        audit_record(
            kind=AuditKind.MEMBER_JOINED,
            team=invitation.team,
            actor=user,
            obj=user,
            summary=f"joined as {invitation.role}, invited by {inviter}",
        )
    else:
        team_switch(user=user, team=invitation.team)
    return membership


@transaction.atomic
def invitation_sign_up(*, token: str, username: str, password: str) -> Membership:
    """A new person accepts: an account with the invited e-mail, then the membership.
    The password is validated by the caller's form (Django's password validators)."""
    invitation = invitation_find(token=token)
    refusal = invitation_refusal(invitation=invitation)
    if refusal:
        raise ValidationError(refusal)
    users = get_user_model().objects
    if users.filter(email__iexact=invitation.email).exists():
        raise ValidationError("An account with this e-mail address exists: sign in to accept.")
    if users.filter(username__iexact=username).exists():
        raise ValidationError({"username": "This user name is taken; choose another."})
    user = users.create_user(username=username, email=invitation.email, password=password)
    return invitation_accept(token=token, user=user)


@transaction.atomic
def user_sign_up(*, username: str, email: str, password: str):
    """Open sign-up (ALLOW_SIGNUP): a new user with a personal team."""
    users = get_user_model().objects
    if email and users.filter(email__iexact=email).exists():
        raise ValidationError({"email": "An account with this e-mail address exists."})
    user = users.create_user(username=username, email=email, password=password)
    team_ensure_for_user(user=user)
    return user


def account_prepare(
    *, connector: str, credentials: dict[str, Any], check: bool = True
) -> tuple[dict, dict]:
    """Validate credentials against the connector's account fields and, with ``check``,
    against the service itself. Returns (settings, secrets), ready for account_apply."""
    public, secrets = _clean_credentials(connector, credentials)
    if check:
        _check(connector, {**public, **secrets})
    return public, secrets


def account_prepare_change(
    *, account: ConnectedAccount, credentials: dict[str, Any], check: bool = True
) -> tuple[dict, dict]:
    """account_prepare for a change to a stored account. Values left blank ("") keep
    their stored value. A change to a field that decides where the secrets are sent (a
    base URL, a region) is refused unless every secret is entered again in the same
    change: otherwise anyone who may edit the account could point it at their own server
    and have the check, or the next run, hand them the stored key."""
    if not isinstance(credentials, dict):
        raise ValidationError({"credentials": "must be an object"})
    typed = {k: v for k, v in credentials.items() if v != ""}
    public, secrets = _clean_credentials(account.connector, {**account.credentials(), **typed})
    _require_secrets_for_new_destination(account, public, typed)
    if check:
        _check(account.connector, {**public, **secrets})
    return public, secrets


def _require_secrets_for_new_destination(
    account: ConnectedAccount, public: dict[str, Any], typed: dict[str, Any]
) -> None:
    fields = registry.get(account.connector).account_fields
    # The stored settings cleaned the same way, so that a default filled in since they
    # were saved does not count as a move.
    stored, _ = field_types.validate(fields, account.config, resolved=True, partial=True)
    moved = [f.label for f in fields if f.routes_secrets and public.get(f.key) != stored.get(f.key)]
    if not moved:
        return
    errors = {
        f"credentials.{f.key}": (
            f"Enter the {f.label} again: changing {' and '.join(moved)} sends it to a new address."
        )
        for f in fields
        if f.secret and not typed.get(f.key)
    }
    if errors:
        raise ValidationError(errors)


def _clean_credentials(connector_key: str, credentials: dict[str, Any]) -> tuple[dict, dict]:
    try:
        connector = registry.get(connector_key)
    except registry.UnknownConnector as exc:
        raise ValidationError({"connector": str(exc)}) from None
    if not connector.account_fields:
        raise ValidationError({"connector": f"{connector.label} needs no account."})
    if not isinstance(credentials, dict):
        raise ValidationError({"credentials": "must be an object"})
    clean, errors = field_types.validate(connector.account_fields, credentials, resolved=True)
    if errors:
        raise ValidationError({f"credentials.{key}": msg for key, msg in errors.items()})
    secret = field_types.secret_keys(connector.account_fields)
    return (
        {k: v for k, v in clean.items() if k not in secret},
        {k: v for k, v in clean.items() if k in secret},
    )


def _check(connector_key: str, credentials: dict[str, Any]) -> None:
    try:
        registry.get(connector_key).check_account(credentials)
    except ConnectorError as exc:
        key = f"credentials.{exc.field}" if exc.field else "credentials"
        raise ValidationError({key: exc.message}) from None


def account_apply(*, account: ConnectedAccount, public: dict, secrets: dict) -> None:
    """Put prepared credentials on an account (unsaved): settings in clear, secrets
    encrypted, and a masked hint of the first secret."""
    account.config = public
    account.set_secrets(secrets)
    first_secret = next(iter(secrets.values()), "")
    account.hint = crypto.mask(first_secret) if first_secret else ""


def account_create(
    *,
    team: Team,
    connector: str,
    title: str,
    credentials: dict[str, Any],
    created_by=None,
    check: bool = True,
) -> ConnectedAccount:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "An account needs a title."})
    if ConnectedAccount.objects.filter(team=team, title=title).exists():
        raise ValidationError({"title": f"The team already has an account titled {title!r}."})
    public, secrets = account_prepare(connector=connector, credentials=credentials, check=check)
    account = ConnectedAccount(team=team, connector=connector, title=title, created_by=created_by)
    account_apply(account=account, public=public, secrets=secrets)
    # The check with the service above stays outside: no transaction waits on the network.
    with transaction.atomic():
        account.save()
        audit_record(
            kind=AuditKind.ACCOUNT_CREATED,
            team=team,
            actor=created_by,
            obj=account,
            summary=f"{connector} account",
        )
    return account


def account_update(
    *,
    account: ConnectedAccount,
    title: str | None = None,
    credentials: dict | None = None,
    check: bool = True,
    actor=None,
) -> ConnectedAccount:
    """Change the title and/or replace the credentials. Secrets left blank keep their
    stored value, so a form need never show them to keep them."""
    changed = []
    if title is not None and title.strip() and title.strip() != account.title:
        title = title.strip()
        if ConnectedAccount.objects.filter(team=account.team, title=title).exists():
            raise ValidationError({"title": f"The team already has an account titled {title!r}."})
        changed.append(f"title {account.title!r} → {title!r}")
        account.title = title
    if credentials is not None:
        public, secrets = account_prepare_change(
            account=account, credentials=credentials, check=check
        )
        account_apply(account=account, public=public, secrets=secrets)
        # Names of the fields typed, never their values.
        typed = sorted(key for key, value in credentials.items() if value not in (None, ""))
        changed.append(f"credentials: {', '.join(typed) or 'none typed'}")
    with transaction.atomic():
        account.save()
        audit_record(
            kind=AuditKind.ACCOUNT_CHANGED,
            team=account.team,
            actor=actor,
            obj=account,
            summary="; ".join(changed),
        )
    return account


def account_delete(*, account: ConnectedAccount, actor=None) -> None:
    try:
        with transaction.atomic():
            audit_record(
                kind=AuditKind.ACCOUNT_DELETED,
                team=account.team,
                actor=actor,
                obj=account,
                summary=f"{account.connector} account",
            )
            account.delete()
    except ProtectedError:
        raise ValidationError(
            f"The account {account.title!r} is used by automations; change them first."
        ) from None


def account_rotate_encryption(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored secret under the newest key. Returns rows rewritten."""
    count = 0
    for account in ConnectedAccount.objects.exclude(secrets_encrypted="").iterator(batch_size):
        account.secrets_encrypted = crypto.rotate(account.secrets_encrypted)
        account.save(update_fields=["secrets_encrypted"])
        count += 1
    for variable in TeamVariable.objects.exclude(secrets_encrypted="").iterator(batch_size):
        variable.secrets_encrypted = crypto.rotate(variable.secrets_encrypted)
        variable.save(update_fields=["secrets_encrypted"])
        count += 1
    return count
