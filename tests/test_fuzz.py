"""Short fuzz runs of the parsers of hostile input (``tests/fuzz/run.py`` runs them long)."""

import os

from hypothesis import HealthCheck, given, settings

import fuzz_targets as ft

EXAMPLES = int(os.environ.get("REFERE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(ft.yaml_texts())
def test_fuzz_loader(tmp_path_factory, text):
    ft.target_loader(text, tmp_path_factory.getbasetemp())


@FUZZ
@given(ft.png_like())
def test_fuzz_pngmeta(data):
    ft.target_pngmeta(data)


@FUZZ
@given(ft.pdf_like())
def test_fuzz_pdf_probe(data):
    ft.target_pdf(data)


@FUZZ
@given(ft.image_like())
def test_fuzz_image_probe(data):
    ft.target_image(data)
