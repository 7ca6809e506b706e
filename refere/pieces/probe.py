"""Open each source file once: is it readable, how many pages, its SHA-256.

Every pixel of an image is checked here (a plain PNG by pngcheck, without decoding; anything
else decoded in full), so that a truncated or garbage image is refused before it is filed; the
PDF pages are checked (pdfcheck) for values the stamping relies on. What was found sound is
remembered by SHA-256 in the user's cache: the same bytes are never checked twice.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import io
import json
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageFile

from refere import files, signals
from refere.pieces import jpegcheck, pngcheck, pngmeta, repair
from refere.errors import FileProblem

# A phone screenshot is ~3 Mpx, a 600 dpi A4 scan ~35 Mpx: beyond this it is an attack or a
# mistake, and decoding it would exhaust memory.
MAX_PIXELS = 60_000_000
MAX_JPEG_SCANS = jpegcheck.MAX_SCANS
# Raised whenever the checks find damage they let through before: what an older refere called
# sound is checked again (version 2: a JPEG cut short but closed with its end marker; 3: a
# progressive JPEG cut, restart markers shuffled or missing, any data libjpeg calls corrupt;
# 4: every page citing a damaged PDF stream named, not only the first; 5: a page's content parts
# and annotations bounded, pages listed many times counted before qpdf copies them, an
# annotation listed twice no longer called damage; 6, 7: the same over the whole document; 8: a page's
# /UserUnit judged, a page whose /Parent is not the node listing it, AES-256's /Perms named; 9: a PNG's
# palette checked against its pixels; 10: a lying /Parent named only where it changes an attribute).
CHECKS = 10

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    written: str
    kind: str
    pages: int
    sha256: str
    size: int
    file: files.Checked | None = field(default=None, compare=False, repr=False)
    # PDFs only: qpdf's structure check, and whether its recovery makes the file whole.
    etat: repair.Diagnosis = repair.Diagnosis()
    # Plain PNGs only: whether the image data inflates to exactly its rows (True) or runs on
    # past them (False), as its check found; None when not known (see ``idat_exact``).
    idat_exact: bool | None = field(default=None, compare=False)
    # PDFs only: the bytes of memory the file takes once read and cleaned (``MAX_HELD``), and the
    # bytes of page content the stamping joins, held until its pièce is saved (``flux.MAX_JOINED``).
    poids: int = field(default=0, compare=False)
    contenu: int = field(default=0, compare=False)


def source_bytes(src) -> bytes:
    """The verified bytes of a Source or SourceInfo: read confined, proved unchanged since checked."""
    if src.file is None:  # a Source made by hand (tools, tests): check it now
        return files.read_checked(_checked(src))
    return files.read_checked(src.file)


def _checked(source) -> files.Checked:
    """A source that was not checked with its case (an upload being received): checked now, and
    named in messages as the person knows it."""
    try:
        checked = files.check_source(source.path.parent, source.path.name)
    except files.FileKindError as exc:
        raise FileProblem(str(exc).replace(source.path.name, source.written)) from None
    return dataclasses.replace(checked, written=source.written)


def _image_pages(data: bytes, written: str) -> tuple[int, bool | None]:
    """Pages filed (1: the first frame) and, for a plain PNG, whether its image data inflates
    to exactly its rows (``SourceInfo.idat_exact``)."""
    # In entropy-coded data 0xFF is always followed by 0x00 or RSTn: 0xFF 0xDA only starts a scan
    # (or sits in metadata, which can only overcount).
    if data[:2] == b"\xff\xd8" and (scans := data.count(b"\xff\xda")) > MAX_JPEG_SCANS:
        raise FileProblem(f"« {written} » : image JPEG en {scans} passes (au plus {MAX_JPEG_SCANS}) ; "
                          "refusée, son décodage serait démesuré ; réenregistrez-la en JPEG ordinaire ou en PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # A JPEG cut short but closed with its end marker fails here too (jpegcheck).
            # A PNG's text chunks and an ICC profile Pillow would refuse say nothing of its pixels.
            with Image.open(io.BytesIO(pngmeta.for_decoding(jpegcheck.for_decoding(data)))) as img:
                w, h = img.size
                if img.format == "PNG" and img.info.get("default_image"):
                    # An animated PNG whose still image is not one of its frames: a browser shows
                    # the animation, the pièce would show the still image (another picture).
                    raise FileProblem(f"« {written} » : image animée (APNG) dont l'image fixe n'est pas celle "
                                      "que montrent les navigateurs ; enregistrez une capture d'écran ordinaire (PNG)")
                if w * h > MAX_PIXELS or w <= 0 or h <= 0:
                    raise FileProblem(
                        f"« {written} » : image démesurée ({w} × {h} pixels) ; "
                        "réduisez-la (une capture d'écran fait environ 1080 × 2400)"
                    )
                # Every pixel of the first frame (the one filed) must be there: a truncated or
                # garbage image fails here, not as a half-blank page in the court's copy. A plain
                # PNG is checked without decoding (pngcheck: inflate, CRC, filter types, exact);
                # anything else is decoded in full.
                if img.format == "PNG" and pngcheck.simple(data):
                    exact = pngcheck.pixels(data) == 0
                else:
                    img.load()
                    exact = None
                if (colours := pngcheck.palette_size(data)) is not None:
                    # A palette missing, or shorter than the colours the pixels name: viewers draw
                    # a blank or black page, Pillow its own default colours (attack 38).
                    img.load()
                    if not colours or img.getextrema()[1] >= colours:
                        raise FileProblem(f"« {written} » : image endommagée (sa palette de couleurs manque ou "
                                          "ne contient pas toutes les couleurs employées) ; réenregistrez-la en PNG "
                                          "ordinaire ou refaites la capture")
            # libjpeg draws what a cut or shuffled scan lacks in grey and only warns: qpdf does not.
            if data[:2] == b"\xff\xd8" and jpegcheck.damaged(data, MAX_PIXELS):
                raise FileProblem(_damaged(written))
        except FileProblem:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise FileProblem(f"« {written} » : image démesurée, refusée pour protéger la mémoire") from None
        except Exception:  # noqa: BLE001 - Pillow signals bad data with many types
            if (what := unsupported_image(data)) is not None:
                raise FileProblem(f"« {written} » : {what}, format non pris en charge ; réenregistrez-la "
                                  "en PNG ou en JPEG ordinaire (une capture d'écran l'est déjà)") from None
            raise FileProblem(_damaged(written)) from None
    return 1, exact


def _damaged(written: str) -> str:
    return (f"« {written} » : image endommagée ou tronquée, ses pixels ne se lisent pas en entier ; "
            "refaites la capture ou réenregistrez-la")


def unsupported_image(data: bytes) -> str | None:
    """What a valid JPEG uses that the decoder lacks (12 bits per sample, lossless or arithmetic
    coding), in French, or None: read from its frame header, never guessed from an error text."""
    if data[:2] != b"\xff\xd8":
        return None
    i, n = 2, len(data)
    while i + 5 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker in (0xC3, 0xC7, 0xCB, 0xCF):
                return "image JPEG sans perte (« lossless »)"
            if marker >= 0xC9:
                return "image JPEG à codage arithmétique"
            if data[i + 4] != 8:
                return f"image JPEG en {data[i + 4]} bits par couleur"
            return None
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA or length < 2:
            return None
        i += 2 + length
    return None


def __getattr__(name: str):
    # The PDF checks import pikepdf: loaded on first use, so that ``check`` of a case whose PDFs
    # are already known (cache) never imports the PDF library.
    if name in ("pdf_open", "packed_objects_bomb", "qpdf_limits", "_pdf_pages", "MAX_DECODED", "MAX_PACKED", "PDF_ERRORS",
                "UNSUPPORTED_CRYPT", "MAX_CONTENT", "MAX_PDF_PAGES"):
        with signals.held():  # a Ctrl-C inside pikepdf's import aborts the interpreter (see build._stack)
            from refere.pieces import pdfcheck
        return getattr(pdfcheck, name)
    raise AttributeError(name)


@functools.lru_cache(maxsize=4096)
def _probe(checked: files.Checked) -> SourceInfo:
    # Keyed by the checked file, its SHA-256 included: a file changed since is probed again.
    done = _verified.pop(checked, None)
    if done is None and (future := _pending.pop(checked, None)) is not None and not future.cancelled():
        try:
            _idle_until(future)
            with signals.held():  # a signal never cuts the wait inside the future's lock
                done = future.result()  # checked in a worker process (``start``)
        except Exception:  # noqa: BLE001 - a worker gone (killed, out of memory): checked here
            done = None
    if isinstance(done, str):
        raise FileProblem(done)
    if done is not None:
        return done
    info = _known(checked)
    if info is None:
        return _verify(checked)
    files.remember_hash(checked)  # verified before its hash was remembered (an older refere)
    return info


def _known(checked: files.Checked) -> SourceInfo | None:
    """What the user's cache remembers of these exact bytes (by SHA-256), or None."""
    if checked.kind == "pdf":
        known = _pdf_before(checked.sha256)
        if known is None:
            return None
        pages, etat, weight, joined = known
        return SourceInfo(checked.path, checked.written, checked.kind, pages, checked.sha256, checked.size, checked, etat,
                          poids=weight, contenu=joined)
    if (known := _decoded_before(checked.sha256)) is not None:
        return SourceInfo(checked.path, checked.written, checked.kind, known[0], checked.sha256, checked.size, checked,
                          idat_exact=known[1])
    return None


def _verify(checked: files.Checked, dated=None) -> SourceInfo:
    """Read the file and check it whole (every pixel, every PDF page); remember it if sound.
    ``dated(kind, data)``, when given, dates it from the same bytes: the text of its entry
    beside the decoded images (see shotdates.content_date)."""
    data = files.read_checked(checked)
    files.remember_hash(checked)  # next time, not hashed again
    entry = decode_cache() / f"{checked.sha256}.date"
    if dated is not None and entry.exists():
        dated = None
    if checked.kind == "pdf":
        pages, etat, weight, joined, date = _pdf_isolated(data, checked.written, dated)
        if dated is not None:
            remember(entry, date)
        remember(_pdf_cache() / checked.sha256,
                  json.dumps({"pages": pages, "etat": etat.etat, "defauts": list(etat.defauts),
                             "pages_touchees": list(etat.pages), "poids": weight, "contenu": joined}))
        return SourceInfo(checked.path, checked.written, checked.kind, pages, checked.sha256, checked.size, checked, etat,
                          poids=weight, contenu=joined)
    if dated is not None:
        remember(entry, dated(checked.kind, data))
    pages, exact = _image_pages(data, checked.written)
    _remember_decoded(checked.sha256, pages, exact)
    return SourceInfo(checked.path, checked.written, checked.kind, pages, checked.sha256, checked.size, checked,
                      idat_exact=exact)


# A PDF is read by qpdf in a child process: whatever a file makes qpdf allocate (an LZW stream
# inside an encrypted object stream: nothing can measure it beforehand), the child dies of it, not
# the build, the batch or the web server. Bytes beyond the process's own, and seconds.
PDF_MEMORY = 1 << 30
PDF_SECONDS = 60  # a 100 MB scan of 60 pages: 10 s
# What every PDF source of a case may take together once read and cleaned (``SourceInfo.poids``):
# a build holds a pièce's sources at once, then the dossier's pièces; ten sources just under
# pdfcheck's limit for one took a build to 4.3 GB (attack 17). A real source: a few MB at most.
MAX_HELD = 160 << 20


def _pdf_isolated(data: bytes, written: str, dated=None):
    """(pages, diagnosis, weight, joined content, date entry text or None) of a PDF, read and
    checked in a child process."""
    from refere import isolee

    try:
        return isolee.run_forked(_pdf_read, data, written, dated, seconds=PDF_SECONDS, extra=PDF_MEMORY,
                                 stop=signals.stopping)
    except isolee.Stopped as exc:
        if exc.reason == "delai":
            raise FileProblem(f"« {written} » : PDF trop long à vérifier (plus de {PDF_SECONDS} secondes), "
                              "refusé ; réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)") from None
        if exc.reason == "memoire":
            raise FileProblem(_PDF_MEMORY_FR.format(written)) from None
        why = "arrêt demandé" if exc.reason == "arret" else "processus arrêté de l'extérieur"
        raise FileProblem(f"« {written} » : vérification du PDF interrompue ({why}) ; relancez la commande") from None


_PDF_MEMORY_FR = ("« {} » : PDF qui demande plus de " + f"{PDF_MEMORY >> 30}" + " Go de mémoire pour être lu, refusé "
                  "pour protéger la mémoire ; réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")


def _pdf_read(data: bytes, written: str, dated):
    from refere import isolee
    from refere.pieces import pdfcheck

    size, peak = isolee.address_space(), isolee.peak()  # a fork starts with its parent's peak

    def near_the_cap(share: float) -> bool:
        return isolee.peak() > peak and isolee.peak() - size > PDF_MEMORY * share

    date = dated("pdf", data) if dated is not None else None
    try:
        pages, etat, weight, joined = pdfcheck._pdf_pages(data, written)
    except FileProblem:
        # qpdf turns an allocation refused at the cap into « cannot find /Root »: name the cause
        # (the allocation refused, a buffer doubling, is not counted: half the cap is the sign).
        if near_the_cap(0.5):
            raise FileProblem(_PDF_MEMORY_FR.format(written)) from None
        raise
    if near_the_cap(0.75):
        # Read within the cap only by giving up part of it (qpdf rebuilt the file past a refused
        # allocation): the build, which is not capped, would read it whole.
        raise FileProblem(_PDF_MEMORY_FR.format(written))
    return pages, etat, weight, joined, date


# Images whose every pixel decoded, by SHA-256, in the user's own cache: a second check of the
# same captures decodes nothing. Never in the case folder, which a hostile case could pre-seed;
# the content hash makes an entry true of exactly those bytes.
def decode_cache() -> Path:
    # A JPEG is judged by qpdf too (jpegcheck): pikepdf's version is part of the name.
    return files.user_cache() / f"images-decodees-{_pillow()}-{_pikepdf_version()}-{MAX_PIXELS}-v{CHECKS}"


@functools.lru_cache(maxsize=1)
def _pillow() -> str:
    from PIL import __version__ as pillow
    return pillow


# After the pages, in an entry: what the check found of a plain PNG's image data (an entry of
# an older refere has the pages alone: not known).
_EXACT = {" exacte": True, " longue": False, "": None}


def _decoded_before(sha256: str) -> tuple[int, bool | None] | None:
    """Pages and ``idat_exact`` of an image known sound, or None."""
    # Read as a regular file only (never a link, a FIFO or /dev/zero), and small.
    raw = files.recall(decode_cache() / sha256, 64)
    try:
        text = raw.decode("ascii") if raw is not None else ""
    except ValueError:
        return None
    pages, space, rest = text.partition(" ")
    if not pages.isdigit() or not 0 < int(pages) < 10_000 or space + rest not in _EXACT:
        return None
    return int(pages), _EXACT[space + rest]


def _remember_decoded(sha256: str, pages: int, exact: bool | None = None) -> None:
    remember(decode_cache() / sha256, str(pages) + {v: k for k, v in _EXACT.items()}[exact])


def idat_exact(source, wait: bool = True) -> bool | None:
    """Whether a PNG source's image data inflates to exactly its rows, as its check found (the
    check already inflated all of it: never again); None when not known. Waits for the file's
    check when it is running (``start``) in this process and ``wait`` is asked; a process forked
    from it (a pool of pièces) never waits for its parent's checks: it reads the user's cache."""
    checked = source.file
    if checked is None or checked.kind != "png":
        return None
    pending = _pending.get(checked)
    if pending is not None and (os.getpid() != _OWNER[0] or (not wait and not pending.done())):
        known = _known(checked)
        return known.idat_exact if known is not None else None
    try:
        return _probe(checked).idat_exact
    except FileProblem:
        return None  # reported where the case lists it; the caller judges the data itself


def _pdf_cache() -> Path:
    """PDFs already checked (pages, damage found), by SHA-256, beside the decoded images; the
    entry depends on the version of pikepdf (qpdf) that judged it."""
    return decode_cache().parent / f"pdf-verifies-{_pikepdf_version()}-v{CHECKS}"


@functools.lru_cache(maxsize=1)
def _pikepdf_version() -> str:
    # Read without importing pikepdf (a tenth of a second): that is the point of the cache.
    import importlib.util

    spec = importlib.util.find_spec("pikepdf")
    try:
        text = (Path(spec.origin).parent / "_version.py").read_text("utf-8")  # type: ignore[union-attr, arg-type]
        return re.search(r"""version__ = ['"]([^'"]+)""", text)[1]  # type: ignore[index]
    except (OSError, TypeError, AttributeError):
        from pikepdf import __version__ as version
        return version


def _pdf_before(sha256: str) -> tuple[int, repair.Diagnosis, int, int] | None:
    try:
        raw = files.recall(_pdf_cache() / sha256, 1 << 20)
        data = json.loads(raw.decode("utf-8")) if raw is not None else None
        pages, etat, defauts, touched = data["pages"], data["etat"], data["defauts"], data["pages_touchees"]
        weight, joined = data["poids"], data["contenu"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # an entry of an older refere (no damaged pages, no weight): the PDF is checked again
    if (not isinstance(pages, int) or isinstance(pages, bool) or not 0 < pages < 10_000
            or etat not in (repair.INTACT, repair.REPAIRED, repair.DAMAGED)
            or not isinstance(defauts, list) or not all(isinstance(d, str) for d in defauts)
            or not isinstance(touched, list)
            or not all(isinstance(k, int) and not isinstance(k, bool) and 0 < k <= pages for k in touched)
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 40 for v in (weight, joined))):
        return None
    return pages, repair.Diagnosis(etat, tuple(defauts), tuple(touched)), weight, joined


remember = files.remember  # shotdates keeps capture dates beside the decoded images


def probe(source) -> SourceInfo:
    """``source`` is a model.Source, checked when the case was loaded."""
    return _probe(source.file if source.file is not None else _checked(source))


# Verified in worker processes, waiting for ``_probe``: a SourceInfo, or the French message;
# or still being verified (a future of one).
_verified: dict[files.Checked, SourceInfo | str] = {}
_pending: dict = {}
# Below this many files to verify, a pool costs more (start-up, copies) than it saves.
POOL_FROM = 4
# How many processes may verify at once: the cores (at most 4), or 1 inside ``batch``, whose
# own workers already fill the machine.
WORKERS = 0


# The process whose checks ``_pending`` holds: a forked child must never wait for them.
_OWNER = [os.getpid()]
# Work a build will need later (imports, fonts, its template compiled), done while it waits for a
# capture's check instead of after the checks, when nothing else would run beside it.
_IDLE: list = []


def while_waiting(jobs) -> None:
    """Run ``jobs`` (callables, in order, after those already given) whenever the main thread
    waits for a check still under way; ``None``: forget those not run. A job's failure is
    ignored: it only saves time, and the real work, done later, raises what it must."""
    if jobs is None:
        _IDLE.clear()
    else:
        _IDLE.extend(jobs)


def _idle_until(future) -> None:
    if os.getpid() != _OWNER[0] or threading.current_thread() is not threading.main_thread():
        return
    while _IDLE and not future.done():
        job = _IDLE.pop(0)
        try:
            job()
        except Exception:  # noqa: BLE001 - see while_waiting
            pass


def default_jobs() -> int:
    """Processes a build uses by default: the cores, at most four."""
    return max(1, min(os.cpu_count() or 1, 4))


def workers() -> int:
    return WORKERS or default_jobs()


def _verify_remote(checked: files.Checked, dated=None) -> SourceInfo | str:
    try:
        return _verify(checked, dated)
    except FileProblem as exc:
        return exc.message


# How much lower a build's verification workers run than the build itself (``start``): enough
# that the two of them (weight 423 each for the kernel, 1024 at nice 0) leave the build a core of
# its own; no lower, since other work of the same session would then starve them (at nice 10,
# a tenth of a core beside a busy process), and the build waits for every verification.
BEHIND_NICE = 4


def _worker_start(behind: bool) -> None:
    signals.install(True)
    if behind:
        # The build's own process writes the pièces meanwhile: its work is the critical path,
        # the workers take what CPU it leaves (all of it while it waits for a verification).
        try:
            os.nice(BEHIND_NICE)
        except OSError:
            pass


def start(sources, dated=None, behind: bool = False):
    """Begin checking ``sources`` on every core, in the background; ``probe`` waits for each
    file's result when it needs it (so a build writes its pièces meanwhile). Returns the pool,
    to ``shutdown`` when done, or None when there is nothing worth a pool.

    Only files the user's cache does not already vouch for are checked. Each worker process
    holds one file at a time (at most MAX_SOURCE_BYTES, decoded images at most MAX_PIXELS):
    memory stays bounded whatever the number of captures. ``dated``: see ``_verify``. ``behind``:
    the workers run at a lower priority than this process, which has its own work to do.
    """
    todo = [c for c in dict.fromkeys(s.file for s in sources if s is not None and s.file is not None)
            if c not in _verified and c not in _pending and _known(c) is None]
    # The PDFs first: the plan waits for their pages (``info``); the images follow in the order
    # given (a build gives the filing order: the pièces writer takes each one as it is verified).
    todo.sort(key=lambda c: c.kind != "pdf")
    n = min(workers(), len(todo))
    if n < 2 or len(todo) < POOL_FROM:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # What this process made so far is put out of the collector's reach while the workers live
    # (``thaw`` once they are gone): a collection, here or in a worker, writes to the header of
    # every object it visits, so each page the two share is copied (7 MB more over a build).
    gc.freeze()
    # fork: the workers start with refere already imported, sharing its memory; they are made
    # here, before the caller starts other work (no thread of ours runs while they fork).
    # A signal meanwhile waits for the end of the submissions: raised inside ``submit``, it would
    # leave the pool's lock taken, and the clean-up waiting on it forever.
    with signals.held():
        pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_start, initargs=(behind,))
        _OWNER[0] = os.getpid()
        for checked in todo:
            _pending[checked] = pool.submit(_verify_remote, checked, dated)
            if signals.stopping():
                break
        # Each worker leaves when nothing is left: its memory goes with it.
        pool.shutdown(wait=False, cancel_futures=signals.stopping())
    return pool


def stop(pool) -> None:
    """Wait for ``pool``'s workers; a signal while waiting drops the checks not started (the
    ones under way end), and is raised once the workers are gone."""
    try:
        pool.shutdown(wait=True)
    except BaseException:
        with signals.held():
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        thaw()


def thaw() -> None:
    """The workers of ``start`` gone: this process's objects are collected again as before (a
    web server runs many builds)."""
    gc.unfreeze()


def prefetch(sources, dated=None) -> None:
    """Check many sources at once on every core (``start``), and wait for all of them. A refused
    file is left for ``probe`` to report, in the order the case lists it."""
    pool = start(sources, dated)
    if pool is not None:
        stop(pool)


def info(source) -> SourceInfo:
    """What the plan needs of a source, without waiting for its check: an image is one page
    (its first frame); a PDF is opened (or known from the cache) for its pages."""
    checked = source.file if source.file is not None else _checked(source)
    if checked.kind == "pdf" or checked not in _pending:
        return _probe(checked)
    return SourceInfo(checked.path, checked.written, checked.kind, 1, checked.sha256, checked.size, checked)
