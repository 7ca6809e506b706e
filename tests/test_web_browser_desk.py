"""The volunteer's desk in a real Chromium at 1280×800: the list is seen without scrolling, nothing breaks
mid-word. Skipped with its reason without chromium/chromedriver, unless REFERE_EXIGER_CHROMIUM=1."""

from __future__ import annotations

from conftest import copy_example
from test_web_browser import driver_factory, server  # noqa: F401 — the same browser and server fixtures


def test_desk_list_is_above_the_fold_at_1280_and_names_never_break(driver_factory, server, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    ws, url = server
    names = ["cherkaoui-y", "belkacem-n", "haddad-r", "abdelrahman-mohamed-s", "ndiaye-c", "ozturk-e"]
    for name in names:
        copy_example(ws / name)
    d = driver_factory(tmp_path, width=1280, height=800)
    d.get(url)
    # Search, filter and « Tout construire » above the list; the first case row fully in the window.
    top = {e: d.find_element(By.CSS_SELECTOR, e).rect["y"] for e in ("#q", "#etat")}
    build = d.find_element(By.XPATH, "//button[normalize-space()='Tout construire']").rect["y"]
    first = d.find_element(By.CSS_SELECTOR, "table.liste tbody tr")
    height = d.execute_script("return window.innerHeight")
    assert max(*top.values(), build) < first.rect["y"]
    assert first.rect["y"] + first.rect["height"] <= height, (first.rect, height)
    # Folder names and column titles on one line each (no « cherkaou / i-y », no « Tentat / ives »).
    for el in d.find_elements(By.CSS_SELECTOR, "table.liste tbody th[scope=row] > a, table.liste thead th"):
        assert d.execute_script("return arguments[0].getClientRects().length", el) == 1, el.text
        assert el.rect["height"] < 40, el.text
    # The workspace is named, never its path on the server.
    assert str(ws) not in d.find_element(By.TAG_NAME, "main").text
