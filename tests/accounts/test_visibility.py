from accounts.models import Team
from accounts.selectors import visible_team_ids


def test_an_agent_sees_only_their_teams(personas):
    assert visible_team_ids(personas.alice) == {personas.north.id}
    assert list(Team.objects.visible_to(personas.charlie)) == [personas.south]


def test_a_manager_sees_the_teams_they_manage(personas):
    assert visible_team_ids(personas.mia) == {personas.north.id}


def test_an_admin_sees_every_team(personas):
    assert visible_team_ids(personas.adam) is None
    assert Team.objects.visible_to(personas.adam).count() == 2


def test_inactive_and_anonymous_users_see_nothing(personas):
    from django.contrib.auth.models import AnonymousUser

    personas.alice.is_active = False
    assert visible_team_ids(personas.alice) == set()
    assert visible_team_ids(AnonymousUser()) == set()
    assert Team.objects.visible_to(AnonymousUser()).count() == 0
