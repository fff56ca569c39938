from __future__ import annotations

import pytest
from django.http import Http404

from accounts import selectors, services
from accounts.models import Team

pytestmark = pytest.mark.django_db


def test_a_member_fetches_their_team(owner, team):
    assert selectors.team_get_for_user(user=owner, slug=team.slug) == team


def test_an_outsider_cannot_fetch_another_team(outsider, team):
    with pytest.raises(Http404):
        selectors.team_get_for_user(user=outsider, slug=team.slug)


def test_accounts_are_scoped_to_their_team(team, other_team, vault_connector):
    mine = services.account_create(
        team=team,
        connector="vault",
        title="Mine",
        credentials={"api_key": "k" * 12, "region": "eu"},
    )
    assert list(selectors.account_list(team=team)) == [mine]
    assert list(selectors.account_list(team=other_team)) == []
    with pytest.raises(Http404):
        selectors.account_get(team=other_team, pk=mine.pk)


def test_a_user_without_a_team_gets_a_personal_one_once(make_user):
    user = make_user("solo")
    first = services.team_ensure_for_user(user=user)
    again = services.team_ensure_for_user(user=user)
    assert first == again and first.is_personal
    assert Team.objects.filter(memberships__user=user).count() == 1
