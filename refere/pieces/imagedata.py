"""A pièce's image data kept in a file beside it until the pièce is saved, not in memory."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pikepdf


def open_for_copy(path: Path) -> pikepdf.Pdf:
    """A PDF refere wrote (a pièce, a file of image data), opened so that copying its pages or
    objects copies no stream data yet.

    ``pikepdf.open`` asks qpdf to copy a page's streams into memory the moment the page is
    copied (so that the source may be closed first): merging 115 MB of pièces held 115 MB. The
    same file opened by a qpdf job is copied lazily, each stream read from its file as the
    output is written, same bytes. The sources stay open until the output is saved."""
    return pikepdf.Job({"inputFile": str(path), "outputFile": "-"}).create_pdf()


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# One system call for an image's many parts (a phone's PNG: an IDAT chunk every 8 KB); where
# there is no writev, the first part at a time (``_write`` writes on what is left).
_WRITEV = getattr(os, "writev", lambda fd, parts: os.write(fd, parts[0]))


class ImageData:
    """The image data of a pièce's PNG pages, kept in a file beside the pièce until it is saved,
    rather than in memory: a captures pièce held 30 captures' image data (30 MB) at once, and
    more in the holes the allocator left between them (bench/README.md, peak memory).

    ``images.image_pages`` makes such a page with an empty image and gives its data here, written
    at once as a stream of a small PDF of its own; ``finish`` opens that PDF and puts each stream
    in its page's place, with the image's dictionary as img2pdf made it. qpdf reads the data from
    the file as the pièce is saved: the same bytes as when it was held in memory. A PNG that is
    not that plain, a JPEG, an image decoded and encoded again is held in memory as before."""

    def __init__(self, path: Path) -> None:
        self.path = path.parent / f".{path.name}.images"
        self.fd: int | None = None
        self.size = 0
        self.offsets: list[int] = []  # of each object, numbered from 1
        self.pages: list[tuple[pikepdf.Object, str, int]] = []  # (page, image's name, object)
        self.failed = False

    def _write(self, parts) -> None:
        parts = list(parts)
        while parts:
            batch = parts[:512]
            done = _WRITEV(self.fd, batch)
            if done == 0 and any(len(part) for part in batch):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.size += done
            # Whatever a short write left, then the rest.
            for i, part in enumerate(batch):
                if done < len(part):
                    parts = [memoryview(part)[done:], *batch[i + 1:], *parts[len(batch):]]
                    break
                done -= len(part)
            else:
                parts = parts[len(batch):]

    def add(self, page: pikepdf.Object, name: str, data: list) -> bool:
        """Write ``data`` (the parts of one image's stream data, in order) for ``page``'s image
        ``name``; False when it cannot be written (the image is then held in memory)."""
        if self.failed:
            return False
        start = self.size
        try:
            if self.fd is None:
                self.fd = os.open(self.path, _FLAGS, 0o600)
                self._write([b"%PDF-1.3\n"])
                start = self.size
            number = len(self.offsets) + 1
            length = sum(len(part) for part in data)
            self._write([f"{number} 0 obj\n<< /Length {length} >>\nstream\n".encode(), *data,
                         b"\nendstream\nendobj\n"])
        except OSError:
            # A full disk: this image and the next ones are held in memory; the file ends, as
            # far as it is read, with the last object written whole.
            self.failed = True
            self.size = start
            if self.fd is not None and not self.pages:
                self.close()
            return False
        self.offsets.append(start)
        self.pages.append((page, name, number))
        return True

    def finish(self, out: pikepdf.Pdf) -> pikepdf.Pdf | None:
        """Each image written here put in its page of ``out`` (copied there from the page given
        to ``add``); the opened file, to close once ``out`` is saved (None when nothing)."""
        if self.fd is None:
            return None
        if not self.pages:
            self.close()
            return None
        n = len(self.offsets)
        if self.failed:  # the catalog and the cross-reference table after the last whole object
            os.ftruncate(self.fd, self.size)
            os.lseek(self.fd, self.size, os.SEEK_SET)
        self.offsets.append(self.size)
        self._write([f"{n + 1} 0 obj\n<< /Type /Catalog /Pages {n + 2} 0 R >>\nendobj\n".encode()])
        self.offsets.append(self.size)
        self._write([f"{n + 2} 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n".encode()])
        xref = self.size
        self._write([f"xref\n0 {n + 3}\n0000000000 65535 f \n".encode(),
                     *(f"{o:010d} 00000 n \n".encode() for o in self.offsets),
                     f"trailer\n<< /Size {n + 3} /Root {n + 1} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()])
        os.close(self.fd)
        self.fd = None
        doc = open_for_copy(self.path)
        self.close()  # qpdf reads it through the descriptor it holds: nothing is left behind
        try:
            for page, name, number in self.pages:
                mine = out.copy_foreign(page)  # the copy already made (qpdf copies an object once)
                stub = mine.Resources.XObject[name]
                image = out.copy_foreign(doc.get_object(number, 0))
                for key, value in stub.stream_dict.items():
                    if key != "/Length":
                        image[key] = value
                mine.Resources.XObject[name] = image
        except BaseException:
            doc.close()
            raise
        return doc

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        try:
            os.unlink(self.path)
        except OSError:
            pass  # already removed (or, on a system that cannot remove an open file, removed later)
