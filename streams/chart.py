"""A per-typology precision / recall / F1 bar chart as a PNG, with no plotting library.

``riskwatch evaluate generated --chart FILE.png`` draws one. The chart is
simple enough to draw directly (filled rectangles and a 5x7 pixel font,
upper case), and the PNG encoder is a dozen lines of ``zlib``, so the project
does not take on matplotlib for one picture.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

#: 5x7 glyphs, upper case: 7 rows of 5 bits each, as hex pairs (bit 4 is the left column).
FONT = {
    "A": "0e1111111f1111", "B": "1e11111e11111e", "C": "0e11101010110e", "D": "1c12111111121c",
    "E": "1f10101e10101f", "F": "1f10101e101010", "G": "0e11101711110f", "H": "1111111f111111",
    "I": "0e04040404040e", "J": "0702020202120c", "K": "11121418141211", "L": "1010101010101f",
    "M": "111b1515111111", "N": "11111915131111", "O": "0e11111111110e", "P": "1e11111e101010",
    "Q": "0e11111115120d", "R": "1e11111e141211", "S": "0f10100e01011e", "T": "1f040404040404",
    "U": "1111111111110e", "V": "11111111110a04", "W": "1111111515150a", "X": "11110a040a1111",
    "Y": "1111110a040404", "Z": "1f01020408101f", "0": "0e11131519110e", "1": "040c040404040e",
    "2": "0e11010204081f", "3": "1f02040201110e", "4": "02060a121f0202", "5": "1f101e0101110e",
    "6": "0608101e11110e", "7": "1f010204080808", "8": "0e11110e11110e", "9": "0e11110f01020c",
    "_": "0000000000001f", ".": "00000000000c0c", "-": "0000001f000000", ":": "000c0c000c0c00",
    " ": "00000000000000", ",": "000000000c0408", "(": "02040808080402", ")": "08040202020408",
    "/": "00010204081000", "=": "00001f001f0000", "%": "18190204081303",
}
WHITE, BLACK, GREY = (255, 255, 255), (40, 40, 40), (215, 215, 215)
#: precision, recall, F1 (colour-blind safe: Okabe-Ito blue, orange, bluish green).
SERIES = (("precision", (0, 114, 178)), ("recall", (230, 159, 0)), ("f1", (0, 158, 115)))
BAR_W, BAR_H, GAP, GROUP_GAP, MARGIN = 400, 8, 2, 10, 16


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.pixels = np.full((height, width, 3), 255, dtype=np.uint8)

    def rect(self, x: int, y: int, w: int, h: int, colour: tuple[int, int, int]) -> None:
        self.pixels[max(y, 0):y + h, max(x, 0):x + w] = colour

    def text(self, x: int, y: int, text: str, scale: int = 2, colour=BLACK) -> None:
        """Upper-cased ``text`` from its top-left corner; characters without a glyph draw as blanks."""
        for i, char in enumerate(text.upper()):
            glyph = FONT.get(char, FONT[" "])
            for row in range(7):
                bits = int(glyph[2 * row:2 * row + 2], 16)
                for col in range(5):
                    if bits & (0x10 >> col):
                        self.rect(x + (i * 6 + col) * scale, y + row * scale, scale, scale, colour)

    def png(self) -> bytes:
        height, width, _ = self.pixels.shape
        raw = b"".join(b"\x00" + self.pixels[y].tobytes() for y in range(height))  # filter 0 on every row

        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                + chunk(b"IEND", b""))


def text_width(text: str, scale: int = 2) -> int:
    return len(text) * 6 * scale


def typology_chart(result: dict) -> bytes:
    """PNG bytes of ``evaluate generated``'s result: one group of three bars per typology."""
    rows = result["typologies"]
    label_w = max([text_width(name) for name in rows] + [text_width("typology")]) + 12
    group_h = 3 * (BAR_H + GAP) + GROUP_GAP
    top = MARGIN + 60
    width = MARGIN + label_w + BAR_W + 50 + MARGIN
    height = top + group_h * len(rows) + 30 + MARGIN
    canvas = Canvas(width, height)
    canvas.text(MARGIN, MARGIN, f"evaluate generated: seed {result['seed']}, {result['events']} events")
    x = MARGIN
    for name, colour in SERIES:
        canvas.rect(x, MARGIN + 30, 14, 14, colour)
        canvas.text(x + 20, MARGIN + 30, name)
        x += 20 + text_width(name) + 24
    left = MARGIN + label_w
    bottom = top + group_h * len(rows)
    for tick in range(5):
        tx = left + tick * BAR_W // 4
        canvas.rect(tx, top - 4, 1, bottom - top + 8, GREY)
        label = f"{tick / 4:g}"
        canvas.text(tx - text_width(label) // 2, bottom + 10, label)
    for k, (name, row) in enumerate(rows.items()):
        y = top + k * group_h
        canvas.text(MARGIN, y + (3 * (BAR_H + GAP) - 14) // 2, name)
        for j, (key, colour) in enumerate(SERIES):
            value = float(row[key])
            bar_y = y + j * (BAR_H + GAP)
            canvas.rect(left, bar_y, max(1, round(value * BAR_W)), BAR_H, colour)
            canvas.text(left + round(value * BAR_W) + 4, bar_y, f"{value:.2f}", scale=1)
    return canvas.png()
