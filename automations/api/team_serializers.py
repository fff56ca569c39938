"""Shapes of the team management endpoints: members, invitations, tokens, audit log."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import ApiToken, AuditEvent, AuditKind, Invitation, Membership, Role


class MemberOut(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.pk", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["user_id", "username", "email", "role", "created_at"]


class MemberIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOut(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)
    invited_by = serializers.CharField(source="invited_by.username", default=None, read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "state", "invited_by", "created_at", "expires_at"]


class InvitationIn(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class TeamUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TokenOut(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "read_only", "created_at", "last_used_at"]


class TokenCreatedOut(TokenOut):
    token = serializers.CharField(read_only=True, help_text="Shown this once; keep it safe.")

    class Meta(TokenOut.Meta):
        fields = [*TokenOut.Meta.fields, "token"]


class TokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    read_only = serializers.BooleanField(default=False)


class AuditEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", read_only=True)
    actor_id = serializers.IntegerField(read_only=True, allow_null=True)
    kind = serializers.ChoiceField(choices=AuditKind.choices, read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_id",
            "kind",
            "object_type",
            "object_id",
            "object_repr",
            "summary",
            "client_address",
            "team_name",
        ]
