"""A JPEG cut short but closed with an end marker must not decode as a sound picture.

libjpeg meets the end marker (EOI) where entropy-coded data should go on, fills the missing
blocks with grey and only warns (« Premature end of JPEG file »), a warning Pillow drops. So the
bytes given to the decoder (the same single decode, no second one) end differently: for a
sequential JPEG whose one scan carries every component and ends in EOI, the EOI is replaced by a
few padding bytes (stuffed 0xFF: one-bits, never a whole Huffman code). A complete scan needs
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
            if end is None or data[end.end() - 1] != 0xD9:
                return data  # no end marker at all (Pillow refuses it), or another segment
            return data[:end.start()] + _PADDING
        i += 2 + length
    return data
