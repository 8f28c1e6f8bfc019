"""Accounts and contacts from CSV files: parents, owners, roles; by external id, idempotent."""

from datetime import date
from decimal import Decimal

import pytest

from customers.models import Account, Contact
from imports.models import ImportRowError
from tests.factories import AccountFactory, CustomerFactory
from tests.imports.conftest import run_file

pytestmark = pytest.mark.django_db


def figures(job):
    return (job.status, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_failed)


ACCOUNTS = ("Account ID;Company;Parent;Owner;ARR;Renewal\n"
            "acct-2;Northwind Stores;acct-1;MIA@example.com;1.200,00;2027-03-31\n"
            "acct-1;Northwind Group;;;\"50000\";\n"
            "acct-3;Northwind Online;acct-1;;;2027/06/30\n")


def test_accounts_with_parents_in_the_same_file_owners_and_values(personas):
    personas.mia.email = "mia@example.com"
    personas.mia.save()
    job = run_file("accounts", ACCOUNTS, personas.adam)
    assert figures(job) == ("done", 3, 0, 0, 0)
    assert job.delimiter == ";"
    group, stores, online = (Account.objects.get(external_id=x) for x in ("acct-1", "acct-2", "acct-3"))
    assert (stores.parent_id, online.parent_id, group.parent_id) == (group.pk, group.pk, None)
    assert (stores.owner, stores.value, stores.renewal_date) == (personas.mia, Decimal("1200.00"), date(2027, 3, 31))
    assert (group.value, online.renewal_date) == (Decimal("50000.00"), date(2027, 6, 30))
    again = run_file("accounts", ACCOUNTS, personas.adam)
    assert figures(again) == ("done", 0, 0, 3, 0)


def test_account_rows_that_cannot_be_written_say_why(personas):
    AccountFactory(external_id="acct-9", name="Top")
    job = run_file("accounts", "external_id,name,parent_external_id,owner_email\n"
                               "acct-10,,,\n"
                               "acct-11,Child,acct-missing,\n"
                               "acct-12,Owned,,nobody@example.com\n"
                               "acct-9,,acct-9,\n"
                               "acct-13,Fine,acct-9,\n", personas.adam)
    assert figures(job) == ("done", 1, 0, 0, 4)
    assert list(ImportRowError.objects.filter(job=job).values_list("row", "column", "message")) == [
        (2, "name", "A new account needs a name."),
        (3, "parent_external_id", "No account has the external id acct-missing: import the parent first, or in the "
                                  "same file before this row."),
        (4, "owner_email", "No active user has the e-mail nobody@example.com: invite them first, or leave the cell "
                           "empty."),
        (5, "parent_external_id", "An account cannot sit under itself or one of its own children."),
    ]


def test_a_parent_under_its_own_child_is_refused(personas):
    top = AccountFactory(external_id="acct-20", name="Top")
    AccountFactory(external_id="acct-21", name="Child", parent=top)
    job = run_file("accounts", "external_id,parent_external_id\nacct-20,acct-21\n", personas.adam)
    assert figures(job) == ("done", 0, 0, 0, 1)
    top.refresh_from_db()
    assert top.parent_id is None


def test_contacts_by_customer_id_or_email_with_roles(personas):
    AccountFactory(external_id="acct-1", name="Northwind")
    ann = CustomerFactory(external_id="crm-1", email="ann@example.com")
    bo = CustomerFactory(external_id=None, email="Bo@Example.com")
    content = ("account_id,customer_id,contact_email,role\n"
               "acct-1,crm-1,,Decision maker\n"
               "acct-1,,bo@example.com,\n"
               "acct-1,crm-404,,user\n"
               "acct-404,crm-1,,user\n"
               "acct-1,,,user\n"
               "acct-1,crm-1,,boss\n")
    job = run_file("contacts", content, personas.adam)
    assert figures(job) == ("done", 2, 0, 0, 4)
    assert sorted(Contact.objects.values_list("customer_id", "role")) == sorted(
        [(ann.pk, "decision_maker"), (bo.pk, "user")])
    assert list(ImportRowError.objects.filter(job=job).values_list("row", "column", "message")) == [
        (4, "customer_external_id", "No customer is known by crm-404: import customers first."),
        (5, "account_external_id", "No account has the external id acct-404: import accounts first."),
        (6, "customer_external_id", "Give one of customer_external_id, customer_email: they identify the record."),
        (7, "role", "“boss” is not one of: decision_maker, influencer, user, other."),
    ]
    again = run_file("contacts", "account_id,customer_id,role\nacct-1,crm-1,influencer\n", personas.adam)
    assert figures(again) == ("done", 0, 1, 0, 0)
    assert Contact.objects.get(customer=ann).role == "influencer"


def test_a_contact_whose_customer_id_is_unknown_is_found_by_its_email(personas):
    AccountFactory(external_id="acct-1", name="Northwind")
    ann = CustomerFactory(external_id=None, email="ann@example.com")
    job = run_file("contacts", "account_external_id,customer_external_id,customer_email\nacct-1,crm-77,ann@example.com\n",
                   personas.adam)
    assert figures(job) == ("done", 1, 0, 0, 0)
    assert Contact.objects.get().customer == ann
