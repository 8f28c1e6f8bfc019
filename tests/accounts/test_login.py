from django.urls import reverse

from tests.factories import PASSWORD


def test_it_signs_in_through_the_login_page(client, personas):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(personas.alice.pk)


def test_it_refuses_a_wrong_password_with_a_message(client, personas):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_it_signs_out_with_post(client, personas):
    client.force_login(personas.alice)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_it_sends_anonymous_users_to_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def _nav_labels(client, user):
    import re

    client.force_login(user)
    html = client.get(reverse("home"), follow=True).content.decode()
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r">([^<>]+)</a>", nav))


def test_navigation_follows_the_role(client, personas):
    agent_nav = _nav_labels(client, personas.alice)
    admin_nav = _nav_labels(client, personas.adam)
    assert "Admin" not in agent_nav and "Settings" not in agent_nav and "Dashboard" not in agent_nav
    assert "Admin" in admin_nav
    assert agent_nav < admin_nav


def test_create_api_token_prints_a_working_token(personas, api_client, capsys):
    from django.core.management import call_command

    call_command("create_api_token", "alice")
    key = capsys.readouterr().out.strip()
    assert key.startswith("cl_") and len(key) == 54
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/schema/").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION="Token " + key[:-1] + ("0" if key[-1] != "0" else "1"))
    assert api_client.get("/api/schema/").status_code == 401
