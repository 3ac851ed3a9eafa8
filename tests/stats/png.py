"""Just enough PNG reading to judge a screenshot (8-bit RGB/RGBA, no interlace): the test
tools include no imaging library."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def read_png(data: bytes) -> np.ndarray:
    """(height, width, channels) uint8 pixels of a PNG file's bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.uint8)
    prior = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, row, prior, bpp)
        out[y] = np.frombuffer(bytes(row), dtype=np.uint8)
        prior = row
    return out.reshape(height, width, bpp)


def _unfilter(kind: int, row: bytearray, prior: bytearray, bpp: int) -> None:
    if kind == 0:
        return
    if kind == 2:
        row[:] = (
            (
                (np.frombuffer(row, np.uint8).astype(np.uint16) + np.frombuffer(prior, np.uint8))
                & 0xFF
            )
            .astype(np.uint8)
            .tobytes()
        )
        return
    for x in range(len(row)):
        a = row[x - bpp] if x >= bpp else 0
        b = prior[x]
        if kind == 1:
            row[x] = (row[x] + a) & 0xFF
        elif kind == 3:
            row[x] = (row[x] + (a + b) // 2) & 0xFF
        else:
            c = prior[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            row[x] = (row[x] + pred) & 0xFF
