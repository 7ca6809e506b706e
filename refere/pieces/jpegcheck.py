"""A JPEG whose picture is incomplete or garbled must not be filed as a sound picture.

libjpeg draws what it cannot decode in grey (or blurred) and only warns, warnings Pillow drops:
a scan cut short and closed with the end marker (EOI), a segment slipped between cut data and
EOI, restart markers (RSTn) shuffled or missing, a progressive JPEG cut anywhere. Two checks:

- ``damaged``: the scan headers must bring every coefficient of every component to its last bit
  (a progressive JPEG cut between two scans decodes without a single warning), then qpdf decodes
  the JPEG once with libjpeg and turns any « corrupt data » warning into an error (qpdf ≥ 11.10,
  its default). The JPEG given to qpdf has its header cleaned of what only draws a warning about
  metadata (APPn and comment segments, stray bytes between header segments, the unused
  Ss/Se/Ah/Al of a sequential scan) and an EOI added when the file lacks one: what is left to warn
  about is the picture itself.
- ``for_decoding`` (Pillow's own decode, and images too large for the decode above): for a
  sequential JPEG whose one scan carries every component and ends in EOI, the EOI is replaced by
  a few padding bytes (stuffed 0xFF: one-bits, never a whole Huffman code). A complete scan needs
  none of them and Pillow accepts the missing EOI once every row is out; a scan cut short runs out
  of data and Pillow refuses it as truncated (LOAD_TRUNCATED_IMAGES is off).
"""

from __future__ import annotations

import re

# Eight bytes of bits are what libjpeg reads ahead at most (MIN_GET_BITS on 64 bits); twice that.
_PADDING = b"\xff\x00" * 16
# Start of frame, sequential Huffman coding (baseline, extended): one scan per component set.
_SEQUENTIAL = (0xC0, 0xC1)
# The marker ending entropy-coded data: 0xFF (fill bytes allowed) then neither a stuffed 0x00,
# a restart marker nor another fill byte.
_SCAN_END = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")
_EOI = b"\xff\xd9"
# Scans of one JPEG: a progressive photo has about ten; each scan makes libjpeg re-walk the whole
# image, so thousands of tiny scans take minutes to decode.
MAX_SCANS = 100


def damaged(data: bytes, max_pixels: int) -> bool | None:
    """True when the JPEG ``data`` does not decode to a whole picture without a warning; False
    when it does; None when not judged here: not an 8-bit Huffman-coded JPEG (12 bits, lossless,
    arithmetic: told apart elsewhere), more than ``max_pixels`` (the decode holds every pixel) or
    ``MAX_SCANS`` scans, or headers too broken to read (the caller's decoder refuses those)."""
    parsed = _parse(data)
    if parsed is None:
        return None
    header, sof, scans, eoi = parsed
    if (sof[0] not in (0xC0, 0xC1, 0xC2) or sof[1] != 8 or not 0 < sof[2] * sof[3] <= max_pixels
            or len(scans) > MAX_SCANS):
        return None
    if not _complete(sof, scans):
        return True
    body = bytearray(data[scans[0][0]:eoi])
    if sof[0] != 0xC2:
        for start, ids, *_ in scans:  # Ss, Se, Ah/Al: meaningless in a sequential scan
            end = start - scans[0][0] + 4 + 2 * len(ids) + 1
            body[end:end + 3] = b"\x00\x3f\x00"
    return not _decodes(header + bytes(body) + _EOI)


def _parse(data: bytes):
    """(header kept for decoding, frame, scans, end of the last scan) or None. The frame is
    (marker, precision, width, height, component ids); a scan is (offset of its SOS, component
    ids, Ss, Se, Al); the last scan ends at EOI or at the end of the data."""
    if data[:2] != b"\xff\xd8":
        return None
    i, n, sof, scans, header = 2, len(data), None, [], bytearray(b"\xff\xd8")
    while i + 2 <= n:
        if data[i] != 0xFF:  # stray bytes: libjpeg skips them to the next marker (with a warning)
            i = data.find(b"\xff", i)
            if i < 0:
                break
            continue
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xD9:
            return (bytes(header), sof, scans, i) if sof else None
        if marker == 0x00 or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            i += 2  # 0xFF 0x00: stray bytes to libjpeg; TEM, RSTn: no segment, nothing to keep
            continue
        if i + 4 > n:
            break
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2 or i + 2 + length > n:
            break
        segment = data[i + 4:i + 2 + length]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if sof is not None or len(segment) < 6 or len(segment) < 6 + 3 * segment[5]:
                return None
            ids = [segment[6 + 3 * k] for k in range(segment[5])]
            sof = (marker, segment[0], int.from_bytes(segment[3:5], "big"), int.from_bytes(segment[1:3], "big"), ids)
        elif marker == 0xDA:
            count = segment[0] if segment else 0
            if sof is None or len(segment) != 4 + 2 * count:
                return None
            ids = [segment[1 + 2 * k] for k in range(count)]
            scans.append((i, ids, segment[-3], segment[-2], segment[-1] & 0x0F))
            end = _SCAN_END.search(data, i + 2 + length)
            if end is None:
                return bytes(header), sof, scans, n  # no end marker: cut in this scan or EOI lost
            i = end.end() - 2
            continue
        if not scans and not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            header += data[i:i + 2 + length]  # tables, frame, restart interval: APPn, COM dropped
        i += 2 + length
    return (bytes(header), sof, scans, n) if scans else None


def _complete(sof, scans) -> bool:
    """Every coefficient of every component of the frame reaches its last bit (Al = 0) in some
    scan: a sequential scan carries all 64 coefficients of its components, a progressive one
    coefficients Ss..Se. No scan at all: nothing is complete."""
    progressive = sof[0] == 0xC2
    missing = {(c, k) for c in sof[4] for k in range(64)}
    for _, ids, ss, se, al in scans:
        if progressive and al:
            continue
        band = range(ss, se + 1) if progressive else range(64)
        missing.difference_update((c, k) for c in ids for k in band)
    return not missing


def _decodes(jpeg: bytes) -> bool:
    """libjpeg (through qpdf, which refuses corrupt data) decodes ``jpeg`` to the end."""
    import pikepdf  # only for a JPEG: `check` of known files never loads it

    with pikepdf.new() as pdf:  # the stream lives in a PDF of its own, in memory
        stream = pikepdf.Stream(pdf, jpeg)
        stream.Filter = pikepdf.Name.DCTDecode
        try:
            stream.get_stream_buffer(decode_level=pikepdf.StreamDecodeLevel.all)
        except (pikepdf.PikepdfError, RuntimeError, ValueError):
            return False
    return True


def for_decoding(data: bytes) -> bytes:
    """``data`` with its final EOI replaced by padding when the check above applies, else as is."""
    if data[:2] != b"\xff\xd8":
        return data
    i, n, components = 2, len(data), 0
    while i + 4 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2:
            return data
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker not in _SEQUENTIAL or i + 10 > n:
                return data  # progressive, lossless, arithmetic: decoded as is
            components = data[i + 9]
        elif marker == 0xDA:
            if i + 5 > n or not components or data[i + 4] != components:
                return data  # several scans (components apart): libjpeg buffers the whole file
            end = _SCAN_END.search(data, i + 2 + length)
            if end is None or not _only_segments_then_eoi(data, end.end() - 2):
                return data  # no end marker at all (Pillow refuses it), or another scan
            return data[:end.start()] + _PADDING
        i += 2 + length
    return data


def _only_segments_then_eoi(data: bytes, i: int) -> bool:
    """True when, from the marker at ``i``, only whole segments (comment, APPn, tables…) lead to EOI:
    a comment slipped between a cut scan and EOI must not hide the cut. Another scan: False."""
    n = len(data)
    while i + 2 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0xD9:
            return True
        if marker == 0xDA or i + 4 > n:
            return False
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2:
            return False
        i += 2 + length
    return False
