"""`refere web` in a real browser: Debian's Chromium driven by Selenium, on a phone-width window.

Skipped with its reason when chromium or chromedriver is missing, unless REFERE_EXIGER_CHROMIUM=1.
REFERE_WEB_CAPTURES=<folder> keeps the screenshots (docs/images/web-*.png are made this way).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from conftest import make_jpeg, make_pdf, make_png
from refere import dates

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _skip_or_fail(reason: str):
    if os.environ.get("REFERE_EXIGER_CHROMIUM") == "1":
        pytest.fail(f"{reason} (REFERE_EXIGER_CHROMIUM=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver_factory():
    if not (Path(CHROMIUM).is_file() and Path(DRIVER).is_file()):
        _skip_or_fail("chromium ou chromedriver absent (paquets Debian chromium et chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _skip_or_fail("selenium n'est pas installé (pip install selenium)")
    # Belt and braces: Selenium Manager, if it ever ran, must not go online for a driver or a browser.
    os.environ.setdefault("SE_OFFLINE", "true")
    made = []

    def make(downloads: Path, width=390, height=844):
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--lang=fr-FR",
                  f"--user-data-dir={tempfile.mkdtemp(prefix='refere-chromium-')}", f"--window-size={width},{height}"):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                                "download.prompt_for_download": False,
                                                "intl.accept_languages": "fr-FR,fr"})
        # An explicit driver path: selenium-manager never runs, nothing is downloaded.
        # French dates in <input type=date> come from the browser's locale (for the screenshots).
        env = {**os.environ, "LANG": "fr_FR.UTF-8", "LANGUAGE": "fr"}
        d = webdriver.Chrome(service=Service(DRIVER, env=env), options=opts)
        d.set_page_load_timeout(180)
        d.set_window_size(width, height)  # --window-size alone stops at 500 px wide
        made.append(d)
        return d

    yield make
    for d in made:
        d.quit()


@pytest.fixture
def server(tmp_path):
    from refere.web import serve

    ws = tmp_path / "espace"
    ws.mkdir()
    srv = serve.make_server(ws, "127.0.0.1", 0)
    threading.Thread(target=srv.run, daemon=True).start()
    yield ws, serve.address(srv, "127.0.0.1")
    srv.close()


class Shots:
    def __init__(self, driver, folder: Path):
        self.driver, self.folder = driver, folder
        size = driver.get_window_size()
        self.w, self.h = size["width"], size["height"]
        keep = os.environ.get("REFERE_WEB_CAPTURES")
        self.keep = Path(keep) if keep else None

    def take(self, name: str, full: bool = True):
        d = self.driver
        if full:
            d.execute_script("window.scrollTo(0, 0)")
            h = d.execute_script("return document.documentElement.scrollHeight")
            d.set_window_size(self.w, min(max(h + 140, self.h), 4000))
        path = self.folder / f"web-{name}.png"
        d.save_screenshot(str(path))
        d.set_window_size(self.w, self.h)
        if self.keep:
            self.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.keep / path.name)
        return path


_START = dt.datetime.combine(dt.date.today() - dt.timedelta(days=30), dt.time(8, 52))
# The undated one (sent on by a messaging app): day 25, 19:02, typed by hand.
_LOOSE = _START.replace(hour=19, minute=2) + dt.timedelta(days=25)


def _phone_shots(folder: Path) -> list[Path]:
    """A dozen screenshots over three weeks, at varied hours, named as Android names them.

    They end a few days ago: the check warns when the last attempt is old on the signature date (today).
    """
    start = _START
    offsets = [(0, 0), (1, 15 * 60 + 11), (3, 4 * 60), (7, 0), (8, 15 * 60 + 13), (10, 3 * 60 + 30), (14, 0),
               (15, 15 * 60 + 12), (17, 13 * 60), (21, 0), (22, 15 * 60 + 10), (24, 12 * 60)]
    out = []
    for k, (days, minutes) in enumerate(offsets):
        when = start + dt.timedelta(days=days, minutes=minutes)
        out.append(make_png(folder / f"Screenshot_{when:%Y%m%d-%H%M%S}.png", size=(540, 1200),
                            text=f"aucun creneau {k}"))
    return out


def _wait(cond, timeout=120.0):
    """Poll a condition until it holds: generous, since CI runs on 2 loaded cores.

    A page being replaced may raise (stale element, no such element) while it loads: try again.
    """
    from selenium.common.exceptions import WebDriverException

    end = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return True
        except WebDriverException:
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(0.2)


def test_applicant_journey_in_a_real_browser(driver_factory, server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    ws, url = server
    downloads = tmp_path / "telechargements"
    downloads.mkdir()
    d = driver_factory(downloads)
    shots = Shots(d, tmp_path)
    by_id = lambda i: d.find_element(By.ID, i)  # noqa: E731

    # 1. A new case, from the workspace page.
    d.get(url)
    by_id("nom").send_keys("Diallo Aïssatou")
    d.find_element(By.CSS_SELECTOR, "form[action='/nouveau'] button").click()
    assert _wait(lambda: "/d/diallo-aissatou/" in d.current_url)
    shots.take("formulaire-vide")

    # 2. The form, section by section.
    Select(by_id("requerant.civilite")).select_by_value("Mme")
    for name, value in [("requerant.nom", "DIALLO"), ("requerant.prenoms", "Aïssatou Binta"),
                        ("requerant.lieu_naissance", "Conakry (Guinée)"), ("requerant.nationalite", "guinéenne"),
                        ("requerant.adresse", "12 rue de la République\n93200 Saint-Denis"),
                        ("procedure.titre_actuel", "carte de séjour temporaire « salarié »")]:
        by_id(name).send_keys(value)
    d.execute_script("document.getElementById('requerant.date_naissance').value = '1991-04-12'")
    # The permit expires after the first attempt (else the check warns that the applicant waited too long).
    expiry = _START.date() + dt.timedelta(days=60)
    d.execute_script(f"document.getElementById('procedure.expiration_titre').value = '{expiry:%Y-%m-%d}'")
    Select(by_id("procedure.type")).select_by_value("renouvellement_titre_sejour")
    Select(by_id("prefecture.departement")).select_by_value("93")
    assert _wait(lambda: "Montreuil" in by_id("dep-info").text)
    assert "le préfet de la Seine-Saint-Denis" in by_id("dep-info").text
    d.find_element(By.CSS_SELECTOR, ".actions button[type=submit]").click()
    assert _wait(lambda: "Enregistré" in d.page_source)
    d.execute_script("document.getElementById('section-prefecture').scrollIntoView()")
    shots.take("formulaire-departement", full=False)
    # Nothing has been captured yet: the loader says so next to the attempts list.
    d.get(url + "d/diallo-aissatou/captures")
    assert _wait(lambda: "ajoutez au moins une tentative" in d.page_source)

    # 3. A dozen screenshots at once.
    shots_src = _phone_shots(tmp_path / "telephone")
    # A thirteenth one, sent on by a messaging app that dropped its name and metadata.
    shots_src.append(make_png(tmp_path / "telephone" / "IMG-WA0007.png", size=(540, 1200), text=f"{_LOOSE:%d/%m %H:%M}"))
    by_id("fichiers").send_keys("\n".join(str(p) for p in shots_src))
    d.find_element(By.CSS_SELECTOR, "form[action$='/captures/envoyer'] button").click()
    assert _wait(lambda: "12 tentatives ajoutées" in d.page_source)
    assert "Sans date : IMG-WA0007.png" in d.page_source
    # Thirteen attempts on a phone: compact cards, nothing wider than the screen.
    assert d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    shots.take("captures")
    d.execute_script("document.getElementById('loose-titre').scrollIntoView()")
    shots.take("captures-sans-date", full=False)
    d.execute_script(f"document.getElementById('date-1').value = '{_LOOSE:%Y-%m-%dT%H:%M}'")
    d.find_element(By.CSS_SELECTOR, "form[action$='/captures/dater'] button").click()
    assert _wait(lambda: "Tentative ajoutée." in d.page_source and "Tentatives (13)" in d.page_source)

    # 4. Two pièces; the e-mail to the préfecture filed as « autre » by mistake.
    d.get(url + "d/diallo-aissatou/pieces")
    passport = make_jpeg(tmp_path / "telephone" / "passeport.jpg", size=(1000, 700))
    by_id("titre").send_keys("Passeport")
    Select(by_id("categorie")).select_by_value("identite")
    by_id("pfichiers").send_keys(str(passport))
    d.find_element(By.CSS_SELECTOR, "form[action$='/pieces/envoyer'] button").click()
    assert _wait(lambda: "Pièce « Passeport » ajoutée." in d.page_source)
    # The résidence permit declared in the form is proved too (else the check warns about it).
    permit = make_jpeg(tmp_path / "telephone" / "titre.jpg", size=(1000, 640))  # not the passport's bytes
    # The bordereau names the titre with its expiry (check warns otherwise: titre-piece-sans-date).
    permit_title = f"Carte de séjour expirant le {dates.format_date(_START.date() + dt.timedelta(days=60))}"
    by_id("titre").send_keys(permit_title)
    Select(by_id("categorie")).select_by_value("titre_sejour")
    by_id("pfichiers").send_keys(str(permit))
    d.find_element(By.CSS_SELECTOR, "form[action$='/pieces/envoyer'] button").click()
    assert _wait(lambda: f"Pièce « {permit_title} » ajoutée." in d.page_source)
    mail = make_pdf(tmp_path / "telephone" / "courriel.pdf", pages=2, text="Courriel a la prefecture")
    by_id("titre").send_keys("Courriel à la préfecture du 12 septembre 2025, sans réponse")
    by_id("pfichiers").send_keys(str(mail))
    d.find_element(By.CSS_SELECTOR, "form[action$='/pieces/envoyer'] button").click()
    assert _wait(lambda: "sans réponse » ajoutée." in d.page_source)

    # 5. The check shows the warning; fix the category; the warning is gone.
    d.get(url + "d/diallo-aissatou/verification")
    ok = _wait(lambda: "« courrier ou courriel à la préfecture »" in d.page_source and "Avertissements (1)" in d.page_source)
    assert ok, d.find_element(By.TAG_NAME, "main").text
    shots.take("verification")
    d.get(url + "d/diallo-aissatou/pieces")
    Select(by_id("pieces[2].categorie")).select_by_value("courrier_prefecture")
    d.find_element(By.CSS_SELECTOR, "form[action$='/pieces'] .actions button").click()
    assert _wait(lambda: "Pièces enregistrées." in d.page_source)
    shots.take("pieces")
    d.get(url + "d/diallo-aissatou/verification")
    assert _wait(lambda: "Avertissements (0)" in d.page_source and "Dossier complet." in d.page_source)

    # 6. Build, then download the zip.
    d.get(url + "d/diallo-aissatou/construction")
    d.find_element(By.CSS_SELECTOR, "form.construire button").click()
    assert _wait(lambda: "Dossier construit" in d.page_source, 240)
    shots.take("construction")
    d.find_element(By.LINK_TEXT, "Tout télécharger (.zip)").click()
    zpath = downloads / "diallo-aissatou.zip"
    assert _wait(lambda: zpath.is_file() and not list(downloads.glob("*.crdownload")), 240)
    with zipfile.ZipFile(zpath) as z:
        names = z.namelist()
        pieces = sorted(n for n in names if "/pieces/" in n)
        assert "diallo-aissatou/requete.docx" in names and "diallo-aissatou/dossier-complet.pdf" in names
        assert pieces[0].startswith("diallo-aissatou/pieces/01_Passeport")
        assert any("Courriel" in n for n in pieces) and any("Captures" in n for n in pieces)
        for n in pieces:
            with pikepdf.open(__import__("io").BytesIO(z.read(n))) as pdf:
                assert len(pdf.pages) >= 1
        from docx import Document
        doc = Document(__import__("io").BytesIO(z.read("diallo-aissatou/requete.docx")))
        text = "\n".join(p.text for p in doc.paragraphs)
        assert "DIALLO" in text and "Montreuil" in text

    # 7. The workspace lists it as built.
    d.get(url)
    assert "diallo-aissatou" in d.page_source and "jamais construit" not in d.page_source
    shots.take("espace")
    for p in tmp_path.glob("web-*.png"):
        with Image.open(p) as im:
            assert im.width >= 380  # the phone-width window really rendered


def test_volunteer_desk_with_ten_cases(driver_factory, server, tmp_path):
    """A desk volunteer: ten cases (one broken, one short of proof), « tout construire », rapport.csv."""
    import yaml
    from selenium.webdriver.common.by import By

    from conftest import copy_example

    ws, url = server
    for k in range(10):
        copy_example(ws / f"permanence-{k + 1:02d}")
    broken = ws / "permanence-03" / "dossier.yaml"
    broken.write_text(broken.read_text("utf-8").replace('departement: "94"', 'departement: "20"'), "utf-8")
    short = ws / "permanence-07" / "dossier.yaml"
    data = yaml.safe_load(short.read_text("utf-8"))
    data["tentatives"] = data["tentatives"][:2]
    short.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")

    downloads = tmp_path / "telechargements"
    downloads.mkdir()
    d = driver_factory(downloads, width=1280, height=800)
    shots = Shots(d, tmp_path)
    d.get(url)
    rows = d.find_elements(By.CSS_SELECTOR, "table.liste tbody tr")
    assert len(rows) == 10
    states = [r.find_element(By.CSS_SELECTOR, ".etat").text for r in rows]
    assert states.count("bloquant (à corriger)") == 1 and states.count("bloquant (preuves)") == 1
    assert states.count("prêt à déposer") == 8
    d.find_element(By.XPATH, "//button[normalize-space()='Tout construire']").click()
    assert _wait(lambda: "Terminé" in d.page_source, 240)
    assert "8 construit(s) ou à jour, 2 en échec" in d.page_source
    # The failed cases' reasons, short, in a table that fits the screen; the detail folds away.
    assert d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    reasons = [c.text for c in d.find_elements(By.CSS_SELECTOR, "table.lot td.raison") if c.text.strip()]
    assert len(reasons) == 2 and all(len(r.split("\n")[0]) < 300 for r in reasons)
    assert any("même semaine" in r or "moins" in r for r in reasons)  # in words; the codes are in rapport.csv
    shots.take("lot", full=False)
    d.find_element(By.LINK_TEXT, "Télécharger rapport.csv").click()
    report = downloads / "rapport.csv"
    assert _wait(lambda: report.is_file() and not list(downloads.glob("*.crdownload")), 240)
    import csv

    table = list(csv.DictReader(report.open(encoding="utf-8-sig", newline=""), delimiter=";"))
    assert len(table) == 10 and [r["statut"] for r in table].count("échec") == 2
    # The broken case opens on its form with the loader's message next to the département.
    d.get(url + "d/permanence-03/")
    err = d.find_element(By.ID, "err-prefecture.departement").text
    assert "2A" in err and "2B" in err
    # Saving a hand-written case from the browser, unchanged, leaves it byte for byte.
    before = (ws / "permanence-01" / "dossier.yaml").read_bytes()
    d.get(url + "d/permanence-01/")
    d.find_element(By.CSS_SELECTOR, ".actions button[type=submit]").click()
    assert _wait(lambda: "Enregistré." in d.page_source)
    assert (ws / "permanence-01" / "dossier.yaml").read_bytes() == before
    d.get(url)
    assert d.page_source.count("(tout construire)") == 8
    shots.take("espace-permanence", full=False)


def test_keyboard_alone(driver_factory, server, tmp_path):
    """Tab, type, Enter: the skip link shows when focused, a case is created, the form is reachable."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ws, url = server
    d = driver_factory(tmp_path)
    d.get(url)
    keys = ActionChains(d)
    keys.send_keys(Keys.TAB).perform()
    focused = d.switch_to.active_element
    assert focused.text == "Aller au contenu" and focused.rect["x"] >= 0
    # Tab along until the « nouveau dossier » field, then type and press Enter.
    for _ in range(10):
        keys.send_keys(Keys.TAB).perform()
        if d.switch_to.active_element.get_attribute("id") == "nom":
            break
    assert d.switch_to.active_element.get_attribute("id") == "nom"
    keys.send_keys("Clavier Seul", Keys.ENTER).perform()
    assert _wait(lambda: "/d/clavier-seul/" in d.current_url)
    assert (ws / "clavier-seul" / "dossier.yaml").is_file()
    # On the form, Enter in a text field saves (the default button is « Enregistrer »).
    field = d.switch_to.active_element
    for _ in range(40):
        keys.send_keys(Keys.TAB).perform()
        field = d.switch_to.active_element
        if field.get_attribute("id") == "requerant.nom":
            break
    assert field.get_attribute("id") == "requerant.nom"
    keys.send_keys("SEUL", Keys.ENTER).perform()
    assert _wait(lambda: "Enregistré" in d.page_source)
    assert 'nom: "SEUL"' in (ws / "clavier-seul" / "dossier.yaml").read_text("utf-8")


# What a person must never read on a page: a YAML key, a list index, a line of dossier.yaml, an ISO date,
# the loader's raw words.
JARGON = [r"\brequerant\b", r"(?<![\w-])procedure\.", r"(?<![\w-])prefecture\.[a-z]", r"\btentatives\[", r"\bpieces\[",
          r"courrier_prefecture", r"titre_sejour", r"url_rendez_vous", r"\[\d+\]", r"dossier\.yaml:\d+",
          r"\bligne \d+", r"\b\d{4}-\d{2}-\d{2}\b", r"valeur à compléter", r"liste vide", r"À COMPLÉTER"]


def _jargon(driver) -> list[str]:
    """Jargon in the page's visible text (link targets and ids may hold a field's path: they are not read)."""
    import re

    text = driver.execute_script("return document.body.innerText")
    return [text[max(0, m.start() - 60):m.end() + 20] for rx in JARGON for m in [re.search(rx, text)] if m]


def _wait_download(folder: Path, name: str) -> Path:
    path = folder / name
    assert _wait(lambda: path.is_file() and not list(folder.glob("*.crdownload")), 240), name
    return path


def test_applicant_reads_the_forms_words_and_corrects_at_the_field(driver_factory, server, tmp_path):
    """The example case, built in the browser (requête PDF, letter), then changed, then broken: every page
    speaks the form's words, each « Corriger » lands focused on its field, the old build is marked."""
    import docx
    import yaml
    from selenium.webdriver.common.by import By

    from conftest import copy_example
    from refere.requete.render import soffice

    ws, url = server
    copy_example(ws / "benali")
    downloads = tmp_path / "telechargements"
    downloads.mkdir()
    d = driver_factory(downloads, width=1280, height=800)
    case = url + "d/benali/"
    # 1. Built with its PDF, when LibreOffice is there; said so when it is not.
    d.get(case + "construction")
    assert _jargon(d) == []
    if soffice():
        d.find_element(By.ID, "pdf").click()
    else:
        assert "LibreOffice" in d.find_element(By.ID, "sans-pdf").text
    # The example's warning, in words, before a final build: « construire quand même » is a choice.
    button = d.find_element(By.CSS_SELECTOR, "form.construire button[type=submit]")
    if d.find_elements(By.ID, "confirmer"):
        assert button.text == "Construire quand même"
        button.click()
        assert _wait(lambda: d.find_elements(By.ID, "confirmer-manque"))
        assert "Dossier construit" not in d.page_source and _jargon(d) == []
        shots.take("construction-avertissements", full=False)
        if soffice():
            d.find_element(By.ID, "pdf").click()
        d.find_element(By.ID, "confirmer").click()
        button = d.find_element(By.CSS_SELECTOR, "form.construire button[type=submit]")
    button.click()
    assert _wait(lambda: "Dossier construit" in d.page_source, 300)
    assert _jargon(d) == [] and "à reconstruire" not in d.page_source
    if soffice():
        d.find_element(By.LINK_TEXT, "requete.pdf").click()
        with pikepdf.open(_wait_download(downloads, "requete.pdf")) as pdf:
            assert len(pdf.pages) >= 2
    # 2. The letter to the préfecture, from the same page.
    d.find_element(By.CSS_SELECTOR, "form[action$='/courrier'] button").click()
    assert _wait(lambda: "Lettre écrite, avec 10 tentatives" in d.page_source)
    d.find_element(By.PARTIAL_LINK_TEXT, "Lettre (Word)").click()
    letter = docx.Document(str(_wait_download(downloads, "courrier-prefecture.docx")))
    assert "BENALI" in "\n".join(p.text for p in letter.paragraphs)
    # 3. The case changes after the build: the build is « à reconstruire », its files an « ancienne version ».
    time.sleep(0.05)  # a later modification time than the build's, even on a coarse clock
    path = ws / "benali" / "dossier.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data["requerant"]["telephone"] = "06 12 34 56 78"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    d.get(url)
    assert "à reconstruire" in d.find_element(By.CSS_SELECTOR, "table.liste").text
    d.get(case + "construction")
    assert "à reconstruire" in d.page_source and "Ancienne version" in d.find_element(By.ID, "fichiers").text
    # 4. Broken by hand: an impossible date, a vanished capture, an unknown category, no address.
    data["requerant"]["date_naissance"] = "31/02/1990"
    data["requerant"]["adresse"] = "À COMPLÉTER"
    data["pieces"][1]["categorie"] = "titre_de_sejour"
    gone = data["tentatives"][2]["capture"]
    (ws / "benali" / gone).unlink()
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    d.get(case + "construction")
    assert "pas même un projet" in d.page_source and not d.find_elements(By.ID, "brouillon")
    # No « Construire » button: the page says to correct first; the verification page lists each error.
    assert not d.find_elements(By.CSS_SELECTOR, "form.construire button[type=submit]")
    assert _jargon(d) == [] and "Ancienne version" in d.find_element(By.ID, "fichiers").text
    d.get(case + "verification")
    assert "Étape suivante" not in d.page_source
    box = d.find_element(By.ID, "contenu").text
    assert "date de naissance : date impossible" in box and "tentative n° 3, capture" in box
    assert "adresse postale : à remplir" in box
    # 5. Every page of the case, then each « Corriger » link of the verification page.
    for page in ("", "captures", "pieces", "verification"):
        d.get(case + page)
        assert _jargon(d) == [], (page, _jargon(d))
    links = [(a.get_attribute("href"), a.text) for a in d.find_elements(By.CSS_SELECTOR, "a.corriger")]
    assert len(links) >= 4
    for href, _ in links:
        anchor = href.split("#", 1)[1]
        d.get(href)
        assert _wait(lambda: d.execute_script("return document.readyState") == "complete")
        focused = d.switch_to.active_element.get_attribute("id")
        assert focused and href.endswith("#" + focused), (href, focused)
        r = d.execute_script("var r = document.activeElement.getBoundingClientRect(); return [r.top, r.bottom, "
                             "window.innerHeight]")
        assert 0 <= r[0] and r[1] <= r[2], (anchor, r)
        assert _jargon(d) == [], (href, _jargon(d))


def test_keyboard_focus_never_under_the_save_bar(driver_factory, server, tmp_path):
    """Tab through every step of a full case, on a phone and a desktop: each focused element is on screen and
    nothing covers it (the sticky save bar above all, « Ajouter une tentative sans capture » included)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    from conftest import copy_example

    ws, url = server
    copy_example(ws / "benali")
    for width, height in ((390, 844), (1280, 800)):
        d = driver_factory(tmp_path, width=width, height=height)
        for page in ("", "captures", "pieces", "verification", "construction"):
            d.get(url + "d/benali/" + page)
            # The folded « Ajouter une tentative sans capture » opened: its fields are tabbed through too.
            d.execute_script("document.querySelectorAll('details.nouveau').forEach(function (x) { x.open = true; })")
            keys = ActionChains(d)
            seen, summaries = 0, set()
            for _ in range(200):
                keys.send_keys(Keys.TAB).perform()
                state = d.execute_script("""
                    var e = document.activeElement;
                    if (!e || e === document.body) { return null; }
                    var r = e.getBoundingClientRect();
                    if (r.height === 0 || r.width === 0) { return {hidden: true}; }
                    // What is drawn near the element's top and bottom edges: itself (or inside it), or what covers it.
                    var x = Math.min(Math.max(r.left + Math.min(r.width, 40) / 2, 0), innerWidth - 1);
                    function mine(y) {
                        var top = document.elementFromPoint(x, Math.min(Math.max(y, 0), innerHeight - 1));
                        return top && (top === e || e.contains(top) || top.htmlFor === e.id) ? '' :
                               (top ? (top.className || top.tagName) : 'rien');
                    }
                    return {id: e.id || e.textContent.trim().slice(0, 40), tag: e.tagName, top: r.top, bottom: r.bottom,
                            vh: innerHeight, over: mine(r.top + 2) || mine(r.bottom - 2)};""")
                if state is None or state.get("hidden"):
                    continue
                seen += 1
                if state["tag"] == "SUMMARY":
                    summaries.add(state["id"])
                where = (width, page, state)
                assert state["top"] >= 0 and state["bottom"] <= state["vh"] + 1, where
                assert state["over"] == "", where  # nothing covers it
            assert seen > 5, (width, page)
            if page == "captures":
                assert "Ajouter une tentative sans capture" in summaries


def test_phone_layout_and_corriger_shows_why(driver_factory, server, tmp_path):
    """At 390 px: the OQTF label is not squeezed beside its explanation, « Ce qui bloque » shows its choice
    whole; « Corriger » opens the field with its label and the reason under it on screen."""
    from selenium.webdriver.common.by import By

    from conftest import copy_example

    ws, url = server
    copy_example(ws / "benali")
    y = ws / "benali" / "dossier.yaml"
    y.write_text(y.read_text("utf-8").replace("demandes:\n", "demandes:\n  rdv_au_plus_tard: 2030-01-01\n"), "utf-8")
    d = driver_factory(tmp_path)
    d.get(url + "d/benali/")
    label = d.find_element(By.CSS_SELECTOR, "label[for='procedure.oqtf']")
    assert label.size["width"] > 250 and label.size["height"] < 110, label.size
    fits = d.execute_script("""var s = document.getElementById('procedure.voie'); var c = document.createElement('canvas')
        .getContext('2d'); c.font = getComputedStyle(s).font;
        return c.measureText(s.options[s.selectedIndex].text).width + 40 < s.clientWidth;""")
    assert fits
    d.get(url + "d/benali/verification")
    d.find_element(By.CSS_SELECTOR, "a.corriger[href$='#demandes.rdv_au_plus_tard']").click()
    assert _wait(lambda: d.switch_to.active_element.get_attribute("id") == "demandes.rdv_au_plus_tard")
    shown = d.execute_script("""function on(e) { var r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }
        return [on(document.querySelector("label[for='demandes.rdv_au_plus_tard']")),
                on(document.getElementById('note-demandes.rdv_au_plus_tard'))];""")
    assert shown == [True, True]
