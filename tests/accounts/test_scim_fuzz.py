"""Whatever JSON a provisioning client sends, SCIM answers below 500 (hypothesis, bounded): random
values in the places the adapters read (userName, name, emails, active, members, PATCH operations
and paths) and random filters."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import ApiToken
from tests.factories import api_key_for, make_personas

pytestmark = pytest.mark.django_db

# ASCII text (control characters included) is where the mistakes are; any Unicode text beside it.
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**20), st.floats(allow_nan=False),
                    st.text(alphabet=st.characters(max_codepoint=127), max_size=8), st.text(max_size=8),
                    st.sampled_from(["True", "false", "42", "", "a@b.c", "a\x00b", "x\ny"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
KNOWN_PATHS = st.sampled_from([
    "active", "userName", "name.givenName", "name.familyName", "name", "emails", 'emails[type eq "work"].value',
    "externalId", "members", 'members[value eq "1"]', 'members[value eq "x"]', "displayName", "title", "x[", "]",
    "", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"])
PATHS = st.one_of(st.none(), KNOWN_PATHS, st.text(max_size=12), VALUES)
OPERATIONS = st.lists(st.fixed_dictionaries({"op": st.one_of(st.sampled_from(["add", "Replace", "remove"]), VALUES)},
                                            optional={"path": PATHS, "value": VALUES}), max_size=3)
NAME = st.one_of(VALUES, st.fixed_dictionaries({}, optional={"givenName": SCALARS, "familyName": SCALARS}))
USER = st.fixed_dictionaries({}, optional={"userName": st.one_of(st.text(max_size=20), VALUES), "name": NAME,
                                           "emails": VALUES, "active": VALUES, "externalId": VALUES,
                                           "members": VALUES, "displayName": VALUES})
FILTERS = st.one_of(st.text(max_size=30), st.builds(
    lambda attribute, op, value: f"{attribute} {op} {value}",
    st.sampled_from(["userName", "active", "emails", "externalId", "name.givenName", "displayName", "id", "meta.created"]),
    st.sampled_from(["eq", "ne", "co", "sw", "pr", "gt", "le", "Eq", "xx"]),
    st.sampled_from(['"bjensen"', "true", "null", "5", '"2024-01-01T00:00:00Z"', '"\\""', "(", ""])))


@pytest.fixture
def scim(db):
    personas = make_personas()
    key = api_key_for(personas.adam, scope=ApiToken.Scope.SCIM)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    return personas, client


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(resource=st.sampled_from(["Users", "Groups"]), payload=USER)
def test_any_create_or_replace_answers_below_500(scim, resource, payload):
    personas, client = scim
    for method, path in (("post", resource), ("put", f"{resource}/{personas.bob.pk if resource == 'Users' else personas.south.pk}")):
        response = getattr(client, method)(f"/scim/v2/{path}", data=json.dumps(payload), content_type="application/scim+json")
        assert response.status_code < 500, (method, path, payload, response.content)


@FUZZ
@given(resource=st.sampled_from(["Users", "Groups"]), operations=OPERATIONS)
def test_any_patch_answers_below_500(scim, resource, operations):
    personas, client = scim
    target = personas.bob.pk if resource == "Users" else personas.south.pk
    response = client.patch(f"/scim/v2/{resource}/{target}", content_type="application/scim+json",
                            data=json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                             "Operations": operations}))
    assert response.status_code < 500, (operations, response.content)


ATTRIBUTE_PATHS = {
    "Users": ["active", "userName", "name.givenName", "name.familyName", "name", "emails",
              'emails[type eq "work"].value', "externalId", "title", "nonsense"],
    "Groups": ["members", 'members[value eq "1"]', 'members[value eq "x"]', "displayName", "externalId", "owner"],
}
ATTRIBUTE_VALUES = st.one_of(SCALARS, st.text(alphabet=st.characters(max_codepoint=127), min_size=1, max_size=6),
                             st.lists(st.fixed_dictionaries({"value": SCALARS}), max_size=2),
                             st.fixed_dictionaries({}, optional={"givenName": SCALARS, "familyName": SCALARS}))


@pytest.mark.parametrize("resource", ["Users", "Groups"])
@FUZZ
@given(data=st.data())
def test_a_patch_of_each_attribute_answers_below_500(scim, resource, data):
    personas, client = scim
    op = data.draw(st.sampled_from(["add", "replace", "remove"]))
    path = data.draw(st.sampled_from(ATTRIBUTE_PATHS[resource]))
    value = data.draw(ATTRIBUTE_VALUES)
    target = personas.bob.pk if resource == "Users" else personas.south.pk
    response = client.patch(f"/scim/v2/{resource}/{target}", content_type="application/scim+json",
                            data=json.dumps({"Operations": [{"op": op, "path": path, "value": value}]}))
    assert response.status_code < 500, (op, path, value, response.content)


@FUZZ
@given(resource=st.sampled_from(["Users", "Groups"]), query=FILTERS, start=st.text(max_size=4), count=st.text(max_size=4))
def test_any_filter_answers_below_500(scim, resource, query, start, count):
    _, client = scim
    response = client.get(f"/scim/v2/{resource}", {"filter": query, "startIndex": start or "1", "count": count or "5"})
    assert response.status_code < 500, (query, start, count, response.content)
