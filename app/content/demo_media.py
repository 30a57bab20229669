"""Small files the demo generates at seed time, so `make run` can stream and download something real."""

from __future__ import annotations

import io
import math
import struct
import wave


def tone_wav(seconds: int = 4, rate: int = 8000) -> bytes:
    """A quiet 440 Hz tone: enough for the audio player to show a seekable timeline."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = (int(3000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(seconds * rate))
        out.writeframes(b"".join(struct.pack("<h", f) for f in frames))
    return buffer.getvalue()


def one_page_pdf(title: str) -> bytes:
    """A minimal valid one-page PDF with ``title`` on it (ASCII only)."""
    text = title.encode("ascii", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def metrics_csv() -> bytes:
    rows = ["month,mrr,new,churned", *(f"2026-{m:02d},{1000 + 150 * m},{20 + m},{5 + m // 3}" for m in range(1, 13))]
    return ("\n".join(rows) + "\n").encode()


# slug -> (storage key, content type, bytes)
def demo_files() -> dict[str, tuple[str, str, bytes]]:
    return {
        "founder-interviews": ("demo-founder-interviews.wav", "audio/wav", tone_wav()),
        "sample-episode": ("demo-sample-episode.wav", "audio/wav", tone_wav(seconds=5)),
        "churn-template": ("demo-churn-survey.pdf", "application/pdf", one_page_pdf("Churn survey template")),
        "metrics-sheet": ("demo-metrics.csv", "text/csv", metrics_csv()),
        "ebook-recurring": ("demo-recurring-revenue.pdf", "application/pdf", one_page_pdf("Recurring revenue")),
    }
