"""An import in a real browser (headless Chromium): a CX admin uploads a CSV file, reads the
preview, starts it, and watches the progress bar move as the worker commits batches, without a
reload; the row errors appear when it ends. The pages have no serious or critical axe-core
violation."""

from __future__ import annotations

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from imports.models import ImportJob
from imports.runner import import_run
from surveys.models import Customer
from tests.factories import PASSWORD
from tests.test_accessibility import run_axe, summarise

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 6


def test_an_admin_uploads_a_file_and_watches_its_progress(browser, live_server, personas, tmp_path, monkeypatch,
                                                          settings):
    from playwright.sync_api import expect

    # The worker is this test: the start only queues, and the run happens below, batch by batch.
    queued = []
    monkeypatch.setattr("imports.services.enqueue_on_commit", lambda name, job_id, **kwargs: queued.append(job_id))
    settings.IMPORT_BATCH_SIZE = 2
    upload = tmp_path / "crm.csv"
    upload.write_text("Customer ID,E-mail,Tier\n" + "".join(
        f"crm-{n},c{n}@example.com,gold\n" for n in range(ROWS - 1)) + "crm-9,not-an-email,gold\n")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(AXE_SCRIPT)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("adam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto(f"{live_server.url}/customers/")
    page.get_by_role("navigation", name="Customers").get_by_role("link", name="Imports").click()
    page.get_by_role("link", name="New import").first.click()
    page.get_by_label("What the file holds").select_option("customers")
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and preview").click()
    job = ImportJob.objects.get()
    page.wait_for_url(f"{live_server.url}/imports/{job.pk}/")
    preview = page.locator("#import-preview")
    expect(preview.locator("thead")).to_contain_text("→ external_id")
    expect(preview.locator("tbody")).to_contain_text("“not-an-email” is not an e-mail address.")
    assert summarise("/imports/<id>/ preview", run_axe(page)) == []

    page.get_by_role("button", name=f"Import {ROWS} rows").click()
    page.wait_for_load_state()
    bar = page.locator("progress#import-bar")
    expect(bar).to_have_attribute("value", "0")
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "queued")
    page.evaluate("window.stillTheSamePage = true")
    assert queued == [job.pk]

    import_run(job_id=job.pk)
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "done", timeout=15000)
    expect(bar).to_have_attribute("value", str(ROWS))
    expect(page.locator('[data-figure="created"]')).to_have_text(str(ROWS - 1))
    expect(page.locator('[data-figure="failed"]')).to_have_text("1")
    expect(page.locator("#import-errors tbody tr")).to_have_count(1)
    expect(page.locator("#import-errors tbody tr")).to_contain_text("“not-an-email” is not an e-mail address.")
    assert page.evaluate("window.stillTheSamePage") is True  # HTMX swapped the part, no reload
    assert summarise("/imports/<id>/ done", run_axe(page)) == []
    assert Customer.objects.filter(tier="gold").count() == ROWS - 1
    context.close()
