"""Hostile Word templates: nothing runs, nothing hangs, nothing grows without bound.

Each sample is a real .docx made with python-docx, given to « modele verifier » and « build »;
the heavy ones run in a child process under a memory limit and a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docx import Document

from conftest import ROOT
from refere.requete import render
from refere.errors import TemplateError
from refere.requete.samples import sample_context


def make_template(path: Path, *paragraphs: str) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(str(path))
    return path


CODE = [
    ("{{ ''.__class__.__mro__ }}", "accès interdit à « __class__ »"),
    ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "« cycler »"),
    ("{{ joiner.__init__.__globals__ }}", "« joiner »"),
    ("{{ lipsum.__globals__['os'] }}", "« lipsum »"),
    ("{{ namespace(x=1) }}", "« namespace »"),
    ("{{ self.__init__.__globals__ }}", "« self » interdit"),
    ("{{ requerant.nom.format(requerant) }}", "accès interdit à « format »"),
    ("{{ requerant.__class__.__base__.__subclasses__() }}", "accès interdit à « __class__ »"),
    ("{{ requerant.nom|attr('__class__') }}", "filtre « attr » non autorisé"),
    ("{{ requerant.nom|safe }}", "filtre « safe » non autorisé"),
    ("{{ tentatives|map(attribute='__class__')|list }}", "accès interdit"),
    ("{% include 'x.docx' %}", "{% include %} interdite"),
    ("{% import 'x' as y %}", "{% import %} interdite"),
    ("{% extends '/etc/passwd' %}", "{% extends %} interdite"),
    ("{% macro m() %}x{% endmacro %}", "{% macro %} interdite"),
    ("{% set x %}{{ requerant.nom }}{% endset %}", "{% set … %}…{% endset %} interdite"),
    ("{% for x in tentatives recursive %}{{ loop(x) }}{% endfor %}", "« recursive » interdite"),
    ("{% autoescape false %}{{ requerant.nom }}{% endautoescape %}", "{% autoescape %} interdite"),
]


@pytest.mark.parametrize("payload, expected", CODE)
def test_code_execution_refused_by_verifier_and_build(payload, expected, tmp_path, run, example):
    tpl = make_template(tmp_path / "hostile.docx", "Cabinet", payload)
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1, res.output
    assert "inutilisable" in res.output and expected in res.output, res.output
    assert "paragraphe 2" in res.output and "Traceback" not in res.output and "Erreur interne" not in res.output
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 1 and expected in res.output, res.output
    assert not (example.parent / "dossier").exists()


BOUNDS = [
    ("{% for i in range(10**12) %}x{% endfor %}", "nombre trop grand"),
    ("{% for i in range(-10000, 10000) %}x{% endfor %}", "range() de plus de 10000"),
    ("{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}"
     "{% endfor %}{% endfor %}", "plus de 200\u202f000 fois"),
    ("{% for i in range(10000) %}{% for j in range(10000) %}{{ requerant.designation }}{% endfor %}{% endfor %}",
     "plus de 200\u202f000 fois"),
    ("{% for i in range(10000) %}{{ 'a' * 999999 }}{% endfor %}", "plus de 10 millions de caractères"),
    ("{{ 'a' * 10**9 }}", "répétition trop grande"),
    ("{{ ([requerant] * 10**6)|join }}", "répétition trop grande"),
    ("{{ 2**64**64 }}", "puissance trop grande"),
    ("{{ ('a' * 999999)|replace('a', 'a' * 999999) }}", "valeur trop grande"),
    ("{{ 'x'|center(1000000000) }}", "nombre trop grand"),
    ("{{ 'x'.ljust(100000000) }}", "nombre trop grand"),
    ("{{ ('ab' * 499999).replace('a', 'aaaaaaaaaa') }}", "valeur trop grande"),
    ("{{ '%999999999s' % 'x' }}", "« % » interdite"),
    ("{{ range(10000)|join('a' * 10000) }}", "valeur trop grande"),
    # Integer products: 10**576 squared again and again would take minutes and gigabytes.
    ("{% set a = (10**9)**64 %}{% set b = a * a * a * a * a * a * a * a %}{{ (b * b * b) > 0 }}", "nombre trop grand"),
    ("{{ ('a' * 99999)|wordwrap(1) }}", "largeur 1 trop petite"),
    ("{{ ('a ' * 400000)|wordwrap(10) }}", "texte trop long"),
    ("{{ 'abcdefgh'|truncate(5, end='y' * 999999) }}", "fin de coupure trop longue"),
    ("{{ 'abcdefgh'|truncate(5, end='yyyyyyyyy') }}", "arguments incohérents"),
]


def _limited(args: list[str], cwd: Path, seconds: int = 180) -> tuple[subprocess.CompletedProcess, float]:
    """Run refere in a child under a 1 GB address-space limit: a template that tried to allocate
    more would fail the run instead of swapping the machine. The time bound is the child's
    timeout (generous: a loaded 2-core machine), not a measured duration."""
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "from refere.cli import main\n"
            "main(sys.argv[1:])\n")
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                         timeout=seconds, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return res, time.monotonic() - start


@pytest.mark.parametrize("payload, expected", BOUNDS)
def test_resource_exhaustion_refused_in_bounded_time_and_memory(payload, expected, tmp_path):
    tpl = make_template(tmp_path / "lourd.docx", "Cabinet {{ requerant.nom }}", payload)
    res, _ = _limited(["modele", "verifier", str(tpl)], tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert expected in out and "paragraphe 2" in out and "Traceback" not in out, out


def test_build_refuses_a_looping_template_in_bounded_time(tmp_path, example):
    tpl = make_template(tmp_path / "boucle.docx",
                        "{% for i in range(10000) %}{% for j in range(10000) %}{{ i }}{% endfor %}{% endfor %}")
    res, _ = _limited(["build", str(example), "--modele", str(tpl)], tmp_path)
    assert res.returncode == 1 and "plus de 200\u202f000 fois" in res.stdout + res.stderr
    assert not (example.parent / "dossier").exists()


def test_time_budget_stops_a_slow_template(monkeypatch):
    from refere.modeles import sandbox

    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.0)
    env = render.jinja_env()
    with pytest.raises(sandbox.Refused, match="secondes"):
        env.from_string("{% for t in tentatives %}{{ t.date }}{% endfor %}").render(sample_context())


def test_every_environment_is_the_sandbox():
    """Anything rendered through render.jinja_env() (a letter, the requête) is sandboxed."""
    from jinja2.sandbox import SandboxedEnvironment

    env = render.jinja_env()
    assert isinstance(env, SandboxedEnvironment)
    assert set(env.globals) == {"range"}
    assert env.from_string("{{ requerant.nom }} — {{ 3 * 4 }}").render(sample_context()) == "EXEMPLE — 12"


def test_user_text_is_still_inserted_verbatim():
    env = render.jinja_env()
    ctx = {"x": "<w:p>{{ a }} & « b »</w:p>"}
    assert env.from_string("{{ x }}").render(ctx) == "&lt;w:p&gt;{{ a }} &amp; « b »&lt;/w:p&gt;"


@pytest.mark.parametrize("payload", ["{{ nmo is defined }}", "{{ requerant.nmo is none }}",
                                     "{% if requerant.nmo is mapping %}x{% endif %}", "{{ nmo|default('z') }}",
                                     "{% for x in nmo %}{% endfor %}", "{{ nmo ~ 'a' }}"])
def test_tests_and_default_on_unknown_names_are_errors(payload):
    from refere.modeles import sandbox

    with pytest.raises(sandbox.UndefinedUse):
        render.jinja_env().from_string(payload).render(sample_context())


def test_template_error_is_french_never_internal(tmp_path, example, run):
    tpl = make_template(tmp_path / "t.docx", "{{ requerant.nom + 1 }}")
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 1 and "opération impossible" in res.output and "Erreur interne" not in res.output
    with pytest.raises(TemplateError):
        render.render(sample_context(), tmp_path / "x.docx", tpl)
    assert not (tmp_path / "x.docx").exists()


def test_concurrent_renders_in_threads_keep_their_own_budgets_and_problems(tmp_path):
    """A web server renders from threads: budgets and recorded problems must not mix."""
    from concurrent.futures import ThreadPoolExecutor


    from refere.requete import verifier

    good = make_template(tmp_path / "bon.docx", "{{ requerant.designation }}")
    bad = make_template(tmp_path / "faux.docx", "{{ requerant.designation }}", "{{ conseil.nom }}")
    heavy = make_template(tmp_path / "lourd.docx", "{% for i in range(10000) %}{% for j in range(10000) %}"
                                                   "{% endfor %}{% endfor %}")
    verifier._VERIFIED.clear()
    jobs = [good, bad, heavy] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(verifier.verify, jobs))
    for path, problems in zip(jobs, results):
        if path == good:
            assert problems == []
        elif path == bad:
            assert len(problems) == 1 and "« conseil » est vide" in problems[0]
        else:
            assert len(problems) == 1 and "fois une boucle" in problems[0]


def test_document_properties_are_templates_too(tmp_path, run, example):
    """docxtpl renders the title, subject… as Jinja: they are checked and sandboxed like the text."""
    path = tmp_path / "proprietes.docx"
    doc = Document()
    doc.add_paragraph("{{ requerant.designation }}")
    doc.core_properties.title = "{{ ''.__class__.__mro__ }}"
    doc.core_properties.subject = "{{ nmo }}"
    doc.save(str(path))
    res = run("modele", "verifier", path)
    assert res.exit_code == 1 and "inutilisable (2 problèmes)" in res.output
    assert "propriété « title » du document « {{ ''.__class__.__mro__ }} » : accès interdit à « __class__ »" in res.output
    assert "propriété « subject » du document « {{ nmo }} » : variable inconnue « nmo »" in res.output
    res = run("build", example, "--modele", path)
    assert res.exit_code == 1 and "accès interdit à « __class__ »" in res.output


@pytest.mark.parametrize("paragraphs", [
    ("{% set a = requerant.nom %}{{ a }}",),
    ("{% set a = requerant.nom %}", "Requérant : {{ a }}"),
    ("{% if requerant.nom %}{% set a = requerant.nom %}{% endif %}{{ a }}",),
    ("{% for t in tentatives %}{% set d = t.date %}{{ d }} {{ loop.index }}{% endfor %}",),
])
def test_names_set_in_the_template_are_known_to_the_verifier(tmp_path, run, paragraphs):
    tpl = make_template(tmp_path / "set.docx", "Cabinet {{ requerant.designation }}", *paragraphs)
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 0 and "variable inconnue" not in res.output, res.output


def test_a_name_set_inside_a_loop_is_unknown_after_it(tmp_path, run):
    tpl = make_template(tmp_path / "set.docx", "{% for t in tentatives %}{% set d = t.date %}{% endfor %}{{ d }}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1 and "variable inconnue « d »" in res.output, res.output
