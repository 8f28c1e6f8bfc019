from cases.services import case_claim, case_close
from tests.cases.conftest import open_case, root_cause


def test_it_opens_claims_and_closes(personas):
    case = open_case()
    assert case.reference == f"CL-{case.pk:06d}"
    assert case.team == personas.north
    case = case_claim(case_id=case.pk, by=personas.alice)
    case = case_close(case_id=case.pk, by=personas.alice, root_cause_id=root_cause().pk, resolution="Refunded",
                      outcome="resolved")
    assert case.status == "closed"
    assert [e.kind for e in case.events.all()] == ["opened", "claimed", "status", "closed"]
