"""A corpus of realistic captures of préfecture booking pages, screenshotted by the real browser.

    .venv/bin/python bench/corpus_captures.py OUT      # builds OUT/<case>/dossier.yaml + captures
    .venv/bin/python bench/lecture.py --corpus OUT     # builds it if needed, then measures the reader on it

Each page is an HTML file drawing the browser's own chrome (status bar with the clock, address
bar with the URL) above a booking page, screenshotted by headless Chromium: phones at device scale
2 and 3 (URL wrapped over 2–3 lines, or the host alone), desktops 1366×768 and 1920×1080 (one-line
URL, dimmed path), dark and light bars, several fonts, page zoom 80–150 %, JPEG quality 70,
genuinely blurred captures, print-to-PDF captures, a page that offers slots, a holiday photo.
``OUT/attendu.json`` says what each capture shows, for bench/lecture.py --corpus to measure.
The corpus itself is not committed (about 2 MB, one minute to make): make it where you measure.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageFilter

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

NO_SLOT = {
    "plage": ("Il n'existe plus de plage horaire libre pour votre demande de rendez-vous. "
              "Veuillez recommencer ultérieurement."),
    "creneau": "Aucun créneau disponible. Veuillez réessayer plus tard.",
    "dispo": "Nous n'avons plus de disponibilité pour le moment. Merci de réessayer ultérieurement.",
    "maximal": "Le nombre maximal de rendez-vous est atteint pour cette démarche.",
    "anef": "Une erreur est survenue. Veuillez réessayer ultérieurement.",
}

PREFS = {
    "93": ("Préfecture de la Seine-Saint-Denis", "https://www.seine-saint-denis.gouv.fr/booking/create/4010/1"),
    "92": ("Préfecture des Hauts-de-Seine", "https://www.hauts-de-seine.gouv.fr/booking/create/13525/0"),
    "69": ("Préfecture du Rhône", "https://www.rhone.gouv.fr/booking/create/27931/2"),
    "anef": ("Administration numérique pour les étrangers en France",
             "https://administration-etrangers-en-france.interieur.gouv.fr/particuliers/#/espace-personnel/mon-compte"),
    "94": ("Préfecture du Val-de-Marne", "https://www.val-de-marne.gouv.fr/booking/create/1187/1"),
}

FONTS = ["DejaVu Sans", "Liberation Sans", "Liberation Serif", "DejaVu Serif", "Liberation Sans Narrow"]

# (case, index, style, options). Options: msg (a NO_SLOT key, "slots", None), url (shown, when not
# the declared one), zoom, font, dark, jpeg, blur, host_only, pdf, photo.
PLAN = [
    ("p93", "phone3-wrap2-dark", dict(msg="plage", dpr=3, width=360, wrap=2, dark=True, font=0)),
    ("p93", "phone2-wrap3-light", dict(msg="plage", dpr=2, width=390, wrap=3, dark=False, font=1, zoom=1.25)),
    ("p93", "phone3-host-dark-jpeg", dict(msg="creneau", dpr=3, width=412, host_only=True, dark=True, font=2, jpeg=True)),
    ("p93", "desktop1366-light", dict(msg="plage", desktop=(1366, 768), dark=False, font=1, zoom=0.9)),
    ("p93", "desktop1920-dark", dict(msg="dispo", desktop=(1920, 1080), dark=True, font=0, zoom=1.0)),
    ("p93", "phone3-blur", dict(msg="plage", dpr=3, width=360, wrap=2, dark=True, font=0, blur=6)),
    ("p93", "pdf-print", dict(msg="plage", pdf=True, font=0)),
    ("p92", "desktop1920-light-zoom80", dict(msg="maximal", desktop=(1920, 1080), dark=False, font=3, zoom=0.8)),
    ("p92", "phone2-wrap2-light-zoom150", dict(msg="creneau", dpr=2, width=412, wrap=2, dark=False, font=4, zoom=1.5)),
    ("p92", "desktop1366-dark-jpeg", dict(msg="maximal", desktop=(1366, 768), dark=True, font=2, jpeg=True)),
    ("p92", "phone3-wrap3-dark-otherurl", dict(msg="plage", dpr=3, width=360, wrap=3, dark=True, font=1,
                                               url="https://www.val-d-oise.gouv.fr/booking/create/8801/0")),
    ("p92", "desktop1366-slots", dict(msg="slots", desktop=(1366, 768), dark=False, font=0)),
    ("p69", "phone3-host-light", dict(msg="dispo", dpr=3, width=390, host_only=True, dark=False, font=3)),
    ("p69", "desktop1920-light-zoom125-jpeg", dict(msg="plage", desktop=(1920, 1080), dark=False, font=4, zoom=1.25, jpeg=True)),
    ("p69", "phone2-wrap2-dark-zoom110", dict(msg="maximal", dpr=2, width=360, wrap=2, dark=True, font=2, zoom=1.1)),
    ("p69", "desktop1366-blur", dict(msg="dispo", desktop=(1366, 768), dark=False, font=0, blur=3)),
    ("p69", "pdf-print-serif", dict(msg="creneau", pdf=True, font=2)),
    ("p69", "photo", dict(photo=True)),
    ("anef", "desktop1920-anef-light", dict(msg="anef", desktop=(1920, 1080), dark=False, font=0)),
    ("anef", "desktop1366-anef-dark", dict(msg="anef", desktop=(1366, 768), dark=True, font=1, zoom=1.1)),
    ("anef", "phone3-anef-host", dict(msg="anef", dpr=3, width=412, host_only=True, dark=False, font=0)),
    ("anef", "phone2-anef-wrap3-jpeg", dict(msg="anef", dpr=2, width=360, wrap=3, dark=True, font=3, jpeg=True)),
    ("anef", "pdf-anef", dict(msg="anef", pdf=True, font=1)),
    ("anef", "desktop1920-anef-zoom150", dict(msg="anef", desktop=(1920, 1080), dark=True, font=4, zoom=1.5)),
]
CASE_DEP = {"p93": "93", "p92": "92", "p69": "69", "anef": "anef"}


def _wrap(url: str, lines: int) -> list[str]:
    """The URL as a phone's address bar wraps it: breaks after « - », « / », « . »."""
    bare = url.removeprefix("https://")
    target = len(bare) / lines
    out, cur = [], ""
    for ch in bare:
        cur += ch
        if ch in "-/." and len(cur) >= target * 0.8 and len(out) < lines - 1:
            out.append(cur)
            cur = ""
    out.append(cur)
    return out


def _host(url: str) -> str:
    return url.removeprefix("https://").split("/")[0].removeprefix("www.")


def _body(title: str, msg: str | None, font: str) -> str:
    if msg == "slots":
        inner = ("<h2>Choisissez votre rendez-vous</h2><p>Créneaux disponibles le lundi 8 décembre 2026 :</p>"
                 "<div class=slots><span>09:00</span><span>09:20</span><span>10:40</span><span>14:00</span></div>"
                 "<p>Sélectionnez un horaire puis cliquez sur « Étape suivante ».</p>")
    elif msg == "anef":
        inner = ("<h2>Mon espace personnel</h2><div class=err><b>Erreur</b><p>" + html.escape(NO_SLOT[msg]) +
                 "</p></div><p>Si le problème persiste, contactez le centre de contact citoyen.</p>")
    else:
        inner = ("<h2>Prendre un rendez-vous</h2><p class=step>Étape 2 sur 5 : choix du créneau</p>"
                 "<div class=alert>" + html.escape(NO_SLOT[msg]) + "</div>"
                 "<p>Pour toute question, consultez la rubrique « Démarches ».</p>")
    return (f"<div class=page style=\"font-family:'{font}'\"><div class=marianne>RÉPUBLIQUE<br>FRANÇAISE</div>"
            f"<h1>{html.escape(title)}</h1>{inner}"
            "<footer>Mentions légales · Accessibilité : non conforme · Données personnelles</footer></div>")


CSS = """
body{margin:0;background:#fff;color:#161616}
.page{padding:16px 20px}
.marianne{font-weight:bold;font-size:13px;line-height:1.1;border-left:4px solid #000091;padding-left:6px}
h1{font-size:22px;color:#000091} h2{font-size:20px}
.alert{border-left:5px solid #ce0500;background:#ffe9e9;padding:12px;font-size:17px;margin:14px 0}
.err{border:1px solid #ce0500;padding:12px;font-size:17px;margin:14px 0}
.step{color:#555;font-size:15px}
.slots span{display:inline-block;border:1px solid #000091;color:#000091;padding:6px 12px;margin:4px;font-size:16px}
footer{margin-top:40px;font-size:12px;color:#666}
.status{height:24px;display:flex;justify-content:space-between;align-items:center;padding:0 14px;
 font:600 14px 'DejaVu Sans'}
.bar{padding:8px 10px}
.url{border-radius:18px;padding:7px 14px;font:15px 'DejaVu Sans';line-height:1.35}
.desk .tabs{height:34px;display:flex;align-items:flex-end;padding-left:8px}
.desk .tab{height:28px;width:230px;border-radius:8px 8px 0 0;font:12px 'DejaVu Sans';padding:7px 10px;box-sizing:border-box}
.desk .bar{display:flex;align-items:center;gap:12px;padding:5px 10px;font:14px 'DejaVu Sans'}
.desk .url{flex:1;border-radius:16px;padding:7px 14px;font:14px 'DejaVu Sans'}
"""


def page_html(dep: str, o: dict, when: str, clock: str) -> str:
    title, declared = PREFS[dep]
    url = o.get("url") or declared
    dark = o.get("dark", False)
    fg, bg, pill = (("#e8eaed", "#202124", "#35363a") if dark else ("#202124", "#f1f3f4", "#ffffff"))
    dim = "#9aa0a6" if dark else "#5f6368"
    font = FONTS[o.get("font", 0)]
    zoom = o.get("zoom", 1.0)
    body = _body(title, o.get("msg"), font)
    if o.get("desktop"):
        bare = url.removeprefix("https://")
        host, _, path = bare.partition("/")
        chrome = (f"<div class=desk style='background:{bg};color:{fg}'><div class=tabs>"
                  f"<div class=tab style='background:{pill}'>{html.escape(title[:26])}</div></div>"
                  f"<div class=bar><span>&#8592; &#8594; &#8635;</span><div class=url style='background:{pill}'>"
                  f"<span>{html.escape(host)}</span><span style='color:{dim}'>/{html.escape(path)}</span>"
                  f"</div><span>&#8942;</span></div></div>")
        taskbar = (f"<div style='position:fixed;bottom:0;left:0;right:0;height:40px;background:{bg};color:{fg};"
                   f"font:13px \"DejaVu Sans\";display:flex;justify-content:flex-end;align-items:center;padding:0 16px'>"
                   f"{clock}<br>{when}</div>")
        return (f"<!doctype html><meta charset=utf-8><style>{CSS}</style><body>{chrome}"
                f"<div style='zoom:{zoom}'>{body}</div>{taskbar}</body>")
    if o.get("host_only"):
        shown = [_host(url)]
    else:
        shown = _wrap(url, o.get("wrap", 1))
    lines = "<br>".join(html.escape(s) for s in shown)
    chrome = (f"<div style='background:{bg};color:{fg}'><div class=status><span>{clock}</span>"
              f"<span>4G &#9646; 78 %</span></div><div class=bar><div class=url style='background:{pill}'>"
              f"&#128274; {lines}</div></div></div>")
    return (f"<!doctype html><meta charset=utf-8><style>{CSS}</style><body>{chrome}"
            f"<div style='zoom:{zoom}'>{body}</div></body>")


def print_html(dep: str, o: dict, when: str, clock: str) -> str:
    """What « Imprimer → Enregistrer en PDF » gives: the page, with the browser's header and footer."""
    title, declared = PREFS[dep]
    body = _body(title, o.get("msg"), FONTS[o.get("font", 0)])
    return (f"<!doctype html><meta charset=utf-8><style>{CSS}@page{{margin:12mm}}"
            ".hd{display:flex;justify-content:space-between;font:9px 'DejaVu Sans'}</style><body>"
            f"<div class=hd><span>{when} {clock}</span><span>{html.escape(title)}</span></div>{body}"
            f"<div class=hd style='position:fixed;bottom:0;left:0;right:0'><span>{html.escape(declared)}</span>"
            "<span>1/1</span></div></body>")


def chromium(args: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="corpus-chromium-") as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", *args],
                       check=True, capture_output=True, timeout=120)


def shoot(html_text: str, target: Path, o: dict) -> Path:
    with tempfile.TemporaryDirectory(prefix="corpus-page-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html_text, "utf-8")
        if o.get("pdf"):
            out = target.with_suffix(".pdf")
            chromium(["--no-pdf-header-footer", f"--print-to-pdf={out}", page.as_uri()])
            return out
        if o.get("desktop"):
            w, h = o["desktop"]
            dpr = 1
        else:
            w, h, dpr = o["width"], round(o["width"] * 2.1), o["dpr"]
        png = Path(tmp) / "shot.png"
        chromium([f"--force-device-scale-factor={dpr}", f"--window-size={w},{h}", f"--screenshot={png}", page.as_uri()])
        img = Image.open(png).convert("RGB")
        if o.get("blur"):
            img = img.filter(ImageFilter.GaussianBlur(o["blur"]))
        if o.get("jpeg"):
            out = target.with_suffix(".jpg")
            img.save(out, quality=70)
        else:
            out = target.with_suffix(".png")
            img.save(out)
        return out


def holiday_photo(target: Path) -> Path:
    """A sharp 4000×3000 picture of nothing like a page: sky, sea, sand, and grain."""
    import random

    rnd = random.Random(7)
    small = Image.new("RGB", (80, 60))
    for y in range(60):
        for x in range(80):
            base = (90, 150, 230) if y < 25 else (20, 90, 160) if y < 40 else (220, 200, 150)
            small.putpixel((x, y), tuple(max(0, min(255, c + rnd.randint(-25, 25))) for c in base))
    img = small.resize((4000, 3000), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((4000, 3000), 18).convert("RGB")
    img = Image.blend(img, grain, 0.15)
    out = target.with_suffix(".jpg")
    img.save(out, quality=85)
    return out


def build(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    expected = []
    per_case: dict[str, list] = {}
    for case, style, o in PLAN:
        per_case.setdefault(case, []).append((style, o))
    for case, items in per_case.items():
        dep = CASE_DEP[case]
        folder = out / case
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "captures").mkdir(parents=True)
        attempts = []
        for k, (style, o) in enumerate(items):
            day = 1 + 3 * k
            hh, mm = 8 + k % 3, 50 + k % 9
            when, clock = f"{day:02d}/09/2025", f"{hh:02d}:{mm:02d}"
            if o.get("photo"):
                path = holiday_photo(folder / "captures" / f"{k:02d}-{style}")
            elif o.get("pdf"):
                path = shoot(print_html(dep, o, when, clock), folder / "captures" / f"{k:02d}-{style}", o)
            else:
                path = shoot(page_html(dep, o, when, clock), folder / "captures" / f"{k:02d}-{style}", o)
            rel = f"captures/{path.name}"
            attempts.append(f"  - date: 2025-09-{day:02d} {hh:02d}:{mm:02d}\n    capture: {rel}\n")
            declared = PREFS[dep][1]
            expected.append({"cas": case, "capture": rel, "style": style, "tentative": k + 1,
                             "message": o.get("msg"), "url": (o.get("url") or declared),
                             "url_declaree": declared, "floue": bool(o.get("blur")), "photo": bool(o.get("photo")),
                             "pdf": bool(o.get("pdf"))})
            print(f"{case}/{path.name}", file=sys.stderr)
        write_case(folder, dep, attempts)
    (out / "attendu.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1), "utf-8")


def write_case(folder: Path, dep: str, attempts: list[str]) -> None:
    example = Path(__file__).resolve().parents[1] / "cases" / "exemple-94"
    shutil.copytree(example / "pieces", folder / "pieces")
    text = (example / "dossier.yaml").read_text("utf-8")
    head, rest = text.split("tentatives:\n", 1)
    rest = rest[rest.index("\npieces:") + 1:]
    head = head.replace('departement: "94"', f'departement: "{"75" if dep == "anef" else dep}"')
    head = head.replace("url_rendez_vous: https://www.val-de-marne.gouv.fr/booking/create/4025/1",
                        f"url_rendez_vous: {PREFS[dep][1]}")
    if dep == "anef":
        head = head.replace("procedure:\n", "procedure:\n  voie: anef\n")
    (folder / "dossier.yaml").write_text(head + "tentatives:\n" + "".join(attempts) + "\n" + rest, "utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "corpus"))
