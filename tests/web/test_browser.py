"""The clinic's day in a real browser: Debian's Chromium driven by Playwright.

One scenario per backend: a physician registers a patient and orders, watching the preparation
preview follow the weight; a pharmacist verifies with an override reason, records the lots and
prints the worksheet (read back from the PDF); a nurse is refused a wrong barcode, starts the
infusion with the right one, and sees the monograph's handling of a reaction. Every page is
saved as a screenshot in ``test-artifacts/web/``.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path
from typing import Any

from tests.service.conftest import PASSWORD
from tests.web.conftest import LiveApp


def _sign_in(page: Any, username: str) -> None:
    """Sign out with the header's button, then sign in as `username` with the keyboard alone:
    the username field has the focus, Tab reaches the password, Enter submits."""
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/sign-in")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/patients")


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_order_verify_prepare_print_and_administer(page: Any, live_app: LiveApp,
                                                   artifacts: Path, engine: Any) -> None:
    backend = engine.dialect.name
    folder = artifacts / backend
    folder.mkdir(exist_ok=True)

    # -- the physician: sign in, register a patient, order with the live preview
    page.goto("/ui/patients")
    _shot(page, folder, "01-sign-in")
    page.get_by_label("Username").fill("physician")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert "wrong username or password" in page.get_by_role("alert").inner_text()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/patients")
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Identifier (MRN)").fill("MRN-0042")
    page.get_by_label(re.compile("^Name")).fill("Ada Lovelace")
    page.get_by_label("Birth date").fill("1984-03-15")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Gaucher type").select_option("1")
    page.get_by_label("splenomegaly").check()
    page.get_by_label("anaemia").check()
    page.get_by_label("Pregnancy status").select_option("not-pregnant")
    page.get_by_label("Breastfeeding").select_option("no")
    page.get_by_label("Earlier hypersensitivity to imiglucerase").select_option("no")
    page.get_by_label("Antibodies or hypersensitivity on alglucerase").select_option("no")
    _shot(page, folder, "02-register-patient")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(re.compile(r"/ui/patients/\d+$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Ada Lovelace")

    page.get_by_role("link", name="New order").click()
    page.get_by_label("Weight").fill("70 kg")
    page.get_by_label("Dose per infusion").fill("60 U/kg")
    page.get_by_label("Every").fill("2 weeks")
    preview = page.locator("#preview")
    # 70 kg × 60 U/kg = 4200 U: ten 400 U vials and one 200 U vial, 105 mL at 40 U/mL
    preview.get_by_text("4,200 U", exact=True).wait_for()
    assert "10 × 400 U + 1 × 200 U" in preview.inner_text()
    assert "105 mL" in preview.inner_text()
    _shot(page, folder, "03-order-preview-70kg")
    # the weight changes: 45 kg × 60 U/kg = 2700 U, seven 400 U vials (2800 U, 100 U waste)
    page.get_by_label("Weight").fill("45 kg")
    preview.get_by_text("2,700 U", exact=True).wait_for()
    assert "7 × 400 U" in preview.inner_text()
    # above the labelled 60 U/kg the preview warns, and says an override will be needed
    page.get_by_label("Dose per infusion").fill("80 U/kg")
    preview.get_by_text("3,600 U", exact=True).wait_for()
    assert "dose-above-range" in preview.inner_text()
    assert "Needs an override reason" in preview.inner_text()
    # a unit that is not a mass is named in the preview, not a crash
    page.get_by_label("Weight").fill("45 m")
    preview.get_by_text("weight: must be a mass").wait_for()
    page.get_by_label("Weight").fill("45 kg")
    preview.get_by_text("3,600 U", exact=True).wait_for()
    _shot(page, folder, "04-order-preview-45kg-80u")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column
    _shot(page, folder, "04b-order-phone")
    page.set_viewport_size({"width": 1024, "height": 1366})
    page.get_by_role("button", name="Order", exact=True).click()
    page.wait_for_url(re.compile(r"/ui/orders/\d+$"))
    order_url = page.url
    assert "ordered" in page.get_by_text("Status:").inner_text()

    # -- the pharmacist: verify (refused without a reason), then prepare with lots
    _sign_in(page, "pharmacist")
    page.goto(order_url)
    page.get_by_role("button", name="Verify the order").click()
    error = page.locator("#override-reason-error")
    assert "required to verify" in error.inner_text()
    # the summary at the top links to the field
    page.get_by_role("alert").get_by_role("link", name=re.compile("^override reason")).click()
    assert page.url.endswith("#override-reason")
    assert "dose-above-range" in error.inner_text()
    _shot(page, folder, "05-verify-refused")
    page.get_by_label("Override reason").fill("80 U/kg agreed with the specialist centre")
    page.get_by_role("button", name="Verify the order").click()
    page.wait_for_url(re.compile(r"/ui/orders/\d+#prepare$"))
    assert "verified" in page.get_by_text("Status:").inner_text()
    page.get_by_label("Lot number").fill("LOT-A123")
    page.get_by_label("Expiry date").fill("2027-06-30")
    page.get_by_label(re.compile("Reconstituted at")).fill("2026-12-07T08:30")
    _shot(page, folder, "06-prepare")
    page.get_by_role("button", name="Record the preparation").click()
    page.wait_for_url(re.compile(r"/ui/preparations/\d+$"))
    preparation_url = page.url
    preparation_id = int(preparation_url.rsplit("/", 1)[1])
    _shot(page, folder, "07-preparation")

    # print the worksheet with the print stylesheet and read the PDF back
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=False)
    page.emulate_media(media="screen")
    (folder / "worksheet-printed.pdf").write_bytes(pdf)
    from pypdf import PdfReader

    # NFKC: the PDF's text spells "fi" as its ligature
    printed = unicodedata.normalize("NFKC", " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages))
    for expected in ("Preparation worksheet", "Ada Lovelace", "MRN-0042", "3,600 U",
                     "9 × 400 U", "LOT-A123", "2027-06-30", "90 mL",
                     "must be verified by a pharmacist"):
        assert expected in printed, expected
    for screen_only in ("Sign out", "Download the worksheet", "Start the infusion"):
        assert screen_only not in printed, screen_only

    # the downloadable PDF and the label are served for the preparation
    assert page.request.get(f"{preparation_url}/worksheet.pdf").headers["content-type"] \
        == "application/pdf"
    label = page.request.get(f"{preparation_url}/label.svg")
    assert label.ok
    assert "<svg" in label.text()

    # -- the nurse: a wrong barcode is refused; the right one starts the infusion
    from ertplan.documents import barcode_payload

    _sign_in(page, "nurse")
    page.goto(preparation_url)
    page.get_by_label("Bag barcode").fill(barcode_payload(preparation_id + 1))
    page.get_by_role("button", name="Start the infusion").click()
    refusal = page.locator("#barcode-error")
    assert f"not of preparation {preparation_id}" in refusal.inner_text()
    assert "do not start" in refusal.inner_text()
    _shot(page, folder, "08-wrong-barcode")
    page.get_by_label("Bag barcode").fill("not a barcode at all")
    page.get_by_role("button", name="Start the infusion").click()
    assert page.locator("#barcode-error").is_visible()
    page.get_by_label("Bag barcode").fill(barcode_payload(preparation_id))
    page.get_by_label(re.compile("Started at")).fill("2026-12-07T09:00")
    page.get_by_role("button", name="Start the infusion").click()
    page.wait_for_url(re.compile(r"/ui/administrations/\d+$"))
    assert "Running." in page.locator("main").inner_text()

    # a reaction 40 minutes in: urticaria and dyspnoea, with the monograph's handling
    page.get_by_label("urticaria").check()
    page.get_by_label("dyspnoea").check()
    page.get_by_label(re.compile("Onset at")).fill("2026-12-07T09:40")
    page.get_by_label(re.compile("^Grade")).select_option("2")
    page.get_by_label("Action taken").fill("infusion paused, then slowed")
    page.get_by_role("button", name="Record the reaction").click()
    advice = page.locator("#advice")
    advice.wait_for()
    text = advice.inner_text()
    assert "moderate" in text
    assert "antihistamines" in text
    assert "corticosteroids" in text
    assert "Next infusion" in text
    _shot(page, folder, "09-reaction-advice")
    assert "signs: urticaria, dyspnoea" in page.locator("main").inner_text()

    # the rate slowed, then the end
    page.get_by_label("New rate (mL/h)").fill("25")
    page.get_by_label(re.compile("^At ")).fill("2026-12-07T09:45")
    page.get_by_label("Reason").fill("after the reaction")
    page.get_by_role("button", name="Record the rate change").click()
    assert "25 mL/h (after the reaction)" in page.locator("main").inner_text()
    page.get_by_label(re.compile("Ended at")).fill("2026-12-07T11:30")
    page.get_by_role("button", name="Stop the infusion").click()
    assert "Ended 2026-12-07 11:30" in page.locator("main").inner_text()
    _shot(page, folder, "10-administration")

    # the patient page shows the history; haemoglobin results draw a chart against the goal
    page.get_by_role("link", name="Ada Lovelace").first.click()
    history = page.locator("#infusions").locator("xpath=..").inner_text()
    assert "1 reaction(s)" in history
    for day, value in (("2026-09-01", "8.9"), ("2026-10-01", "9.4"), ("2026-11-01", "10.1"),
                       ("2026-12-01", "10.6")):
        page.get_by_label("Kind").select_option("haemoglobin")
        page.get_by_label("Value", exact=True).fill(value)
        page.get_by_label("Unit").fill("g/dL")
        page.get_by_label("Observed on").fill(day)
        page.get_by_label("Source").fill("clinic lab")
        page.get_by_role("button", name="Record observation").click()
        page.wait_for_url("**#observations")
    chart = page.locator("#response").locator("xpath=..").locator("figure svg")
    assert chart.count() == 1
    _shot(page, folder, "11-patient")

    # the patient list, searched as one types
    page.get_by_role("link", name="Patients").click()
    search = page.get_by_label("Search by name or identifier")
    search.fill("zzz")
    page.get_by_text("No patient matches “zzz”.").wait_for()
    search.fill("lovel")
    page.get_by_role("link", name="Ada Lovelace").wait_for()
    _shot(page, folder, "12-patient-search")

    # the stateless worksheet that CDS Hooks cards link to
    page.goto("/ui/worksheet?weight=70kg&dose=60U/kg&every=2w")
    assert "4,200 U" in page.locator(".worksheet").inner_text()
    _shot(page, folder, "13-worksheet-preview")
