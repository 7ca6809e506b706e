"""Every field a « check » warning asks the user to fill is in the web form, and its « Corriger » link
lands on it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import copy_example
from refere.web import forms, store
from refere.web.app import create_app
from refere.web.form_fields import LISTS, all_paths

ROOT = Path(__file__).resolve().parent.parent


def _warning_fields() -> list[tuple[str, str]]:
    """(code, field) of every warning the checks add with a field, read from their source."""
    out = []
    for src in sorted((ROOT / "refere" / "preuves").glob("*.py")):
        for node in ast.walk(ast.parse(src.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "add"):
                continue
            if len(node.args) < 5 or not isinstance(node.args[0], ast.Constant):
                continue
            champ = node.args[4]
            if isinstance(champ, ast.Constant) and isinstance(champ.value, str):
                out.append((node.args[0].value, champ.value))
            elif isinstance(champ, ast.JoinedStr) and isinstance(champ.values[0], ast.Constant):
                out.append((node.args[0].value, champ.values[0].value))
    return out


WARNING_FIELDS = _warning_fields()


def test_the_table_covers_the_new_fields():
    fields = {f for _, f in WARNING_FIELDS}
    for f in ("procedure.explication_retard", "requerant.heberge_par", "procedure.sans_mesure_eloignement",
              "situation"):
        assert f in fields


@pytest.mark.parametrize("code,field", WARNING_FIELDS, ids=[f"{c}:{f}" for c, f in WARNING_FIELDS])
def test_every_field_a_warning_names_is_in_the_form(code, field):
    head = re.split(r"[.\[]", field)[0]
    if head in LISTS or not field:
        return  # a list's row: its page shows it (tests/test_web.py)
    assert field in all_paths({}), f"{code}: « {field} » has no input in the web form"
    label = next(f for s in forms.SECTIONS for f in s.fields if forms.path(s.key, f.key) == field)
    assert label.help, f"{code}: « {field} » has no hint"


def test_the_words_of_a_warning_are_the_forms_label():
    """« explication du retard », as the form labels it, not procedure.explication_retard."""
    from refere.affaire.libelles import field_words

    for _, field in WARNING_FIELDS:
        if field in all_paths({}):
            assert "_" not in field_words(field), field


@pytest.fixture
def client(tmp_path):
    ws = tmp_path / "espace"
    ws.mkdir()
    case = copy_example(ws / "exemple-94") / "dossier.yaml"
    # The titre expired before the first attempt (1 September 2025), with nothing said about it.
    text = case.read_text(encoding="utf-8").replace("expiration_titre: 2025-11-15", "expiration_titre: 2025-06-15")
    text = re.sub(r"(?m)^  date: 2025-09-29\n", "", text)
    case.write_text(text, encoding="utf-8")
    app = create_app(ws, limits=store.Limits(file_bytes=3 * 1024 * 1024, case_bytes=60 * 1024 * 1024), workers=1)
    app.testing = True
    return app.test_client()


def _csrf(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html)[1]


def test_late_start_warning_links_to_its_field_and_saving_it_clears_it(client):
    html = client.get("/d/exemple-94/verification").get_data(as_text=True)
    assert "postérieure à l&#39;expiration" in html
    assert "« la démarche et la voie : explication du retard »" in html
    link = re.search(r'href="([^"]*#procedure\.explication_retard)"', html)
    assert link, "no « Corriger » link to the field"
    form = client.get(link[1].split("#")[0]).get_data(as_text=True)
    assert re.search(r'<textarea[^>]*id="procedure\.explication_retard"', form)
    assert 'id="procedure.preuves_retard"' in form
    assert "Explication du retard" in form
    # Filled on the form, the warning is gone and the requête's file has it.
    data = {k: v for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    for name, value in re.findall(r'<input type="(?:text|date|email|tel|url)" id="[^"]*" name="([^"]+)" value="([^"]*)"',
                                  form):
        data[name] = value
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\n?([^<]*)</textarea>', form):
        data[name] = value.replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&")
    data["procedure.explication_retard"] = "il était hospitalisé du 1er juin au 25 août 2025"
    r = client.post("/d/exemple-94/", data=data)
    assert r.status_code in (200, 302, 303)
    html = client.get("/d/exemple-94/verification").get_data(as_text=True)
    assert "postérieure à l&#39;expiration" not in html


@pytest.mark.parametrize("number,warned", [("06 12 34 56 7", True), ("06 12 34 56 78", False),
                                           ("+33 6 12 34 56 78", False), ("+33 6 12 34 56", True),
                                           ("+212 6 12 34 56 78", False)])
def test_a_french_phone_number_of_the_wrong_length_is_warned(tmp_path, number, warned):
    from conftest import default_case, write_case
    from refere.affaire.loader import load
    from refere.preuves.coherence import check as coherence_check

    data = default_case()
    data["requerant"]["telephone"] = number
    case = load(write_case(tmp_path / "a", data))
    codes = []
    coherence_check(case, lambda code, *rest: codes.append(code))
    assert ("telephone-incomplet" in codes) is warned


@pytest.mark.parametrize("typed", ["92026-03-01", "01/03/92026"])
def test_a_five_digit_year_is_said_day_first_in_french(typed):
    from refere import dates

    with pytest.raises(dates.DateFormatError) as err:
        dates.parse_date(typed)
    assert str(err.value) == (
        "année à 5 chiffres dans la date 01/03/92026 : vérifiez l'année (par exemple 01/03/2026)")
