"""Writes for teams, memberships, invitations and connected accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.text import slugify

from accounts import crypto, roles
from accounts.models import ConnectedAccount, Invitation, Membership, Role, Team
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
    _check_changes(actor, _roles_in(team, lock=True), changes)
    kept = []
    for change in changes:
        if change.role is None:
            Membership.objects.filter(team=team, user=change.user).delete()
        else:
            membership, _ = Membership.objects.update_or_create(
                team=team, user=change.user, defaults={"role": change.role}
            )
            kept.append(membership)
    return kept


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


def invitation_create(*, actor, team: Team, email: str, role: str) -> Invitation:
    invitation_check(actor=actor, team=team, role=role)
    return Invitation.objects.create(team=team, email=email, role=role, invited_by=actor)


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    invitation = Invitation.objects.select_for_update().filter(token=token).first()
    if invitation is None or invitation.accepted_at:
        raise ValidationError("This invitation does not exist or was already used.")
    if invitation.expires_at < timezone.now():
        raise ValidationError("This invitation has expired.")
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    membership, _ = Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    return membership


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
    account.save()
    return account


def account_update(
    *,
    account: ConnectedAccount,
    title: str | None = None,
    credentials: dict | None = None,
    check: bool = True,
) -> ConnectedAccount:
    """Change the title and/or replace the credentials. Secrets left blank keep their
    stored value, so a form need never show them to keep them."""
    if title is not None and title.strip() and title.strip() != account.title:
        title = title.strip()
        if ConnectedAccount.objects.filter(team=account.team, title=title).exists():
            raise ValidationError({"title": f"The team already has an account titled {title!r}."})
        account.title = title
    if credentials is not None:
        public, secrets = account_prepare_change(
            account=account, credentials=credentials, check=check
        )
        account_apply(account=account, public=public, secrets=secrets)
    account.save()
    return account


def account_delete(*, account: ConnectedAccount) -> None:
    try:
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
    return count
