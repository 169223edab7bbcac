"""The progress bar (only on a terminal) and the PNG chart of evaluate generated."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np

from streams.chart import SERIES, typology_chart
from streams.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_output_gets_nothing():
    stream = io.StringIO()
    with Progress(3, "series", stream=stream) as bar:
        for _ in bar.each(range(3)):
            pass
    assert stream.getvalue() == ""


def test_a_terminal_gets_a_bar_redrawn_in_place_and_a_final_newline():
    clock = iter(float(t) for t in range(100))
    stream = Terminal()
    with Progress(4, "series", stream=stream, clock=lambda: next(clock)) as bar:
        assert list(bar.each("abcd")) == list("abcd")
    text = stream.getvalue()
    assert text.endswith("\n") and "\r" in text
    assert "series [" + "#" * 30 + "] 4/4" in text.splitlines()[-1].split("\r")[-1]


def _png_pixels(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        tag, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(tag + body)
        chunks[tag] = chunks.get(tag, b"") + body
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert np.all(raw[:, 0] == 0)
    return raw[:, 1:].reshape(height, width, 3)


def test_chart_bars_are_as_long_as_the_values():
    result = {"seed": 0, "events": 100, "typologies": {
        "structuring": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3},
        "fan_in": {"precision": 0.25, "recall": 0.0, "f1": 0.0}}}
    pixels = _png_pixels(typology_chart(result))
    for (name, colour) in SERIES:
        painted = np.all(pixels == colour, axis=2)
        lengths = sorted(int(row.sum()) for row in painted if row.any())
        assert lengths, name
    precision = np.all(pixels == SERIES[0][1], axis=2)
    widths = sorted({int(row.sum()) for row in precision if row.sum() > 20})
    assert widths == [100, 400]  # 0.25 and 1.0 of a 400-pixel axis


def test_evaluate_generated_draws_its_chart(tmp_path, capsys):
    from streams.cli import main

    chart = tmp_path / "chart.png"
    assert main(["evaluate", "generated", "--seed", "2", "--events", "6000", "--chart", str(chart)]) == 0
    pixels = _png_pixels(chart.read_bytes())
    assert pixels.shape[1] > 400 and np.any(np.all(pixels == SERIES[2][1], axis=2))
    captured = capsys.readouterr()
    assert "typology" in captured.out and captured.err == ""  # no progress bar when not on a terminal
