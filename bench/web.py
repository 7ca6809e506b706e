"""Benchmark `refere web` over real HTTP (waitress on 127.0.0.1, a free port).

1. Every page of a case with 120 attempts: median and worst answer time (target < 150 ms).
2. Upload 20 phone screenshots (about 20 MB) in one request, then build: total (target < 10 s).

    .venv/bin/python bench/web.py            # full run
    .venv/bin/python bench/web.py --quick    # smaller, to check the script itself

Inputs are generated into bench/out/web/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import os
import re
import shutil
import statistics
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
OUT = HERE / "out" / "web"

from refere.web import serve  # noqa: E402

W, H = 1080, 2400
CASE = """version: 1
requerant:
  civilite: Mme
  nom: DIALLO
  prenoms: Aïssatou
  date_naissance: 1991-04-12
  lieu_naissance: Conakry (Guinée)
  nationalite: guinéenne
  adresse: |
    12 rue de la République
    93200 Saint-Denis
procedure:
  type: renouvellement_titre_sejour
  expiration_titre: 2025-12-31
prefecture:
  departement: "93"
pieces:
  - titre: Courriel à la préfecture, sans réponse
    categorie: courrier_prefecture
    fichier: pieces/courriel.png
tentatives:
"""


def screenshot(path: Path, i: int, photographic: bool) -> None:
    if photographic:
        # Photo-like noise, about 1 MB as PNG: the weight of a real phone screenshot.
        small = Image.merge("RGB", [Image.effect_noise((W // 12, H // 12), 40 + 10 * c) for c in range(3)])
        img = ImageOps.posterize(small.resize((W, H), Image.BICUBIC), 4)
    else:
        img = Image.new("RGB", (W, H), (245, 245, 245))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, W, 200], fill=(0, 0, 145))
    d.text((60, 400), f"Aucun creneau disponible ({i})", fill=(0, 0, 0))
    img.save(path, "PNG")


def when(i: int) -> dt.datetime:
    return dt.datetime(2025, 6, 2, 8, 51) + dt.timedelta(days=i // 2, hours=(i % 2) * 15, minutes=i % 7)


def make_case(ws: Path, n: int) -> str:
    cid = f"dossier-{n}"
    folder = ws / cid
    if (folder / "dossier.yaml").is_file():
        return cid
    (folder / "captures").mkdir(parents=True)
    (folder / "pieces").mkdir()
    screenshot(folder / "pieces" / "courriel.png", 0, False)
    lines = [CASE]
    for i in range(n):
        name = f"Screenshot_{when(i):%Y%m%d-%H%M%S}.png"
        screenshot(folder / "captures" / name, i, False)
        lines.append(f"  - date: {when(i):%Y-%m-%d %H:%M}\n    capture: captures/{name}\n")
    (folder / "dossier.yaml").write_text("".join(lines), "utf-8")
    return cid


def phone_shots(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"Screenshot_{when(200 + i):%Y%m%d-%H%M%S}.png"
        if not p.is_file():
            screenshot(p, i, True)
        out.append(p)
    return out


class Client:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=120) as r:
            return r.read().decode()

    def post(self, path: str, fields: dict[str, str], files: list[tuple[str, Path]] = ()) -> str:
        boundary = uuid.uuid4().hex
        parts = []
        for k, v in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
        for k, p in files:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{p.name}"\r\n'
                         f"Content-Type: image/png\r\n\r\n".encode() + p.read_bytes() + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        req = urllib.request.Request(self.base + path, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with self.opener.open(req, timeout=300) as r:
            return r.read().decode()


def token(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    return m[1] if m else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_attempts, n_upload, rounds = (30, 5, 10) if args.quick else (120, 20, 40)
    ws = OUT / ("rapide" if args.quick else "complet")
    ws.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cid = make_case(ws, n_attempts)
    print(f"Dossier de {n_attempts} tentatives prêt ({time.perf_counter() - t0:.1f} s)")
    upload_case = ws / "envoi"
    shutil.rmtree(upload_case, ignore_errors=True)
    shutil.copytree(ws / cid, upload_case, ignore=shutil.ignore_patterns("dossier"))
    (upload_case / "captures").mkdir(exist_ok=True)
    for p in (upload_case / "captures").iterdir():
        p.unlink()
    text = (upload_case / "dossier.yaml").read_text("utf-8")
    (upload_case / "dossier.yaml").write_text(text.split("tentatives:")[0] + "tentatives:\n", "utf-8")
    shots = phone_shots(OUT / "telephone", n_upload)
    size = sum(p.stat().st_size for p in shots)

    srv = serve.make_server(ws, "127.0.0.1", 0)
    threading.Thread(target=srv.run, daemon=True).start()
    c = Client(serve.address(srv, "127.0.0.1").rstrip("/"))
    time.sleep(3)  # `refere web` reads and checks every case in the background as it starts
    try:
        pages = ["/", f"/d/{cid}/", f"/d/{cid}/captures", f"/d/{cid}/pieces", f"/d/{cid}/verification",
                 f"/d/{cid}/construction"]
        print(f"\n1. Pages d'un dossier de {n_attempts} tentatives ({rounds} requêtes chacune, après une première)")
        print(f"   charge de la machine au départ : {os.getloadavg()[0]:.1f} (2 cœurs)")
        print(f"   {'page':<32} {'1re (ms)':>9} {'médiane':>9} {'p95':>9} {'pire':>9}")
        worst = 0.0
        for page in pages:
            t = time.perf_counter()
            c.get(page)
            first = (time.perf_counter() - t) * 1000
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                c.get(page)
                times.append((time.perf_counter() - t) * 1000)
            p95 = statistics.quantiles(times, n=20)[-1]
            worst = max(worst, p95)
            print(f"   {page:<32} {first:9.0f} {statistics.median(times):9.0f} {p95:9.0f} {max(times):9.0f}")
        print(f"   pire p95 (hors première) : {worst:.0f} ms — objectif < 150 ms : {'atteint' if worst < 150 else 'MANQUÉ'}")

        print(f"\n2. Envoi de {n_upload} captures ({size / 1e6:.1f} Mo) puis construction")
        html = c.get("/d/envoi/captures")
        t = time.perf_counter()
        html = c.post("/d/envoi/captures/envoyer", {"_csrf": token(html, "_csrf"), "_version": token(html, "_version")},
                      [("fichiers", p) for p in shots])
        t_up = time.perf_counter() - t
        m = re.search(r"(\d+) tentatives? ajoutées?", html)
        print(f"   envoi et datation : {t_up:.2f} s ({m[1] if m else '?'} tentatives ajoutées)")
        t = time.perf_counter()
        html = c.post("/d/envoi/construction", {"_csrf": token(html, "_csrf"), "brouillon": "oui"})
        t_build = time.perf_counter() - t
        ok = "Dossier construit" in html
        print(f"   construction : {t_build:.2f} s ({'construit' if ok else 'ÉCHEC'})")
        total = t_up + t_build
        print(f"   total : {total:.2f} s — objectif < 10 s : {'atteint' if total < 10 and ok else 'MANQUÉ'}")
    finally:
        srv.close()


if __name__ == "__main__":
    main()
