"""Which role a person's groups give them, and what to call them (core/signin)."""

from hypothesis import given
from hypothesis import strategies as st

from tracker.core.signin import (
    claim_values,
    has_claim,
    header_groups,
    mapped_role,
    person_name,
)
from tracker.core.vocabulary import ROLES

GROUPS = st.sampled_from(["sre", "oncall", "etl", "finance", "marketing", "x" * 40])
ROLE_MAPS = st.dictionaries(GROUPS, st.sampled_from(ROLES))


@given(st.lists(GROUPS), ROLE_MAPS, st.sampled_from([None, *ROLES]))
def test_the_highest_mapped_role_wins_else_the_default(groups, role_map, default):
    mapped = [role_map[g] for g in groups if g in role_map]
    expected = ROLES[max(ROLES.index(r) for r in mapped)] if mapped else default
    assert mapped_role(groups, role_map, default) == expected


@given(st.lists(GROUPS), ROLE_MAPS)
def test_more_groups_never_lower_a_role(groups, role_map):
    fewer = mapped_role(groups[:-1], role_map, None)
    more = mapped_role(groups, role_map, None)
    assert fewer is None or ROLES.index(more) >= ROLES.index(fewer)


def test_claims_are_read_flat_nested_or_bare():
    keycloak = {"realm_access": {"roles": ["sre", 7, None]}, "groups": "oncall"}
    assert claim_values(keycloak, "realm_access.roles") == ["sre"]
    assert claim_values(keycloak, "groups") == ["oncall"]  # one group sent bare
    assert claim_values(keycloak, "realm_access.missing") == []
    assert claim_values({"groups": {"a": 1}}, "groups") == []
    assert has_claim({"groups": []}, "groups") and not has_claim({}, "groups")


def test_the_audit_name_is_the_preferred_username_else_the_email():
    assert person_name({"preferred_username": " li.na ", "email": "l@x.cn"}) == "li.na"
    assert person_name({"preferred_username": "has space", "email": "l@x.cn"}) == "l@x.cn"
    assert person_name({"preferred_username": "", "email": 5}) is None
    assert person_name({"email": "a\x00b@x.cn"}) is None
    assert person_name({"preferred_username": "张伟"}) == "张伟"


def test_a_proxy_sends_groups_comma_separated():
    assert header_groups(" sre, oncall,, ") == ["sre", "oncall"]
    assert header_groups("") == []


def test_a_name_with_a_slash_is_no_name():
    assert person_name({"preferred_username": "a/b", "email": "ab@x.cn"}) == "ab@x.cn"
