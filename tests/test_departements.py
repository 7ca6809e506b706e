import csv

import pytest

from refere.affaire import departements
from refere.errors import RefereError

SHARED = departements.table()


def test_all_rows_loaded_from_the_shared_table():
    from conftest import ROOT

    with open(ROOT / "refere" / "data" / "departements.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 101 == len(SHARED)
    for row in rows:
        d = departements.lookup(row["code"])
        assert d.tribunal == row["tribunal"]
        assert d.tribunal.startswith("tribunal administratif d")
        if row["code"] != "75":
            assert d.prefet == f"le préfet {row['de_nom']}"


def test_article_forms():
    assert departements.lookup("93").prefet == "le préfet de la Seine-Saint-Denis"
    assert departements.lookup("69").prefet == "le préfet du Rhône"
    assert departements.lookup("28").prefet == "le préfet d'Eure-et-Loir"
    assert departements.lookup("84").prefet == "le préfet de Vaucluse"
    assert departements.lookup("13").prefet == "le préfet des Bouches-du-Rhône"


def test_paris_is_the_prefet_de_police():
    d = departements.lookup("75")
    assert d.prefet == "le préfet de police"
    assert d.tribunal == "tribunal administratif de Paris"


@pytest.mark.parametrize("raw, code", [("2a", "2A"), ("2B", "2B"), ("1", "01"), (" 93 ", "93"), ("971", "971"), ("976", "976")])
def test_codes_normalised(raw, code):
    assert departements.normalize_code(raw) == code


def test_corsica():
    assert departements.lookup("2A").tribunal == "tribunal administratif de Bastia"
    assert departements.lookup("2B").tribunal == "tribunal administratif de Bastia"
    with pytest.raises(RefereError, match="2A"):
        departements.normalize_code("20")


@pytest.mark.parametrize("raw", ["96", "00", "975", "978", "abc", ""])
def test_unknown_codes(raw):
    with pytest.raises(RefereError, match="département inconnu"):
        departements.normalize_code(raw)


def test_tribunal_command(run):
    res = run("tribunal", "93")
    assert res.exit_code == 0
    assert "tribunal administratif de Montreuil" in res.output
    assert "le préfet de la Seine-Saint-Denis" in res.output
    res = run("tribunal", "20")
    assert res.exit_code == 1 and "2A" in res.output
