"""QR codes as one SVG path: posters and the gate screen need no QR library in a browser."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_path(content: str) -> tuple[int, str]:
    """The QR code's module count and one SVG path drawing its dark modules (1 unit each)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(content)
    code.make(fit=True)
    matrix = code.get_matrix()
    steps = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                steps.append(f"M{start},{y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return len(matrix), "".join(steps)


def qr_svg(content: str, quiet: int = 4) -> str:
    """A standalone SVG of the QR code with its quiet zone."""
    size, path = qr_path(content)
    box = size + 2 * quiet
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-quiet} {-quiet} {box} {box}" '
        f'shape-rendering="crispEdges"><rect x="{-quiet}" y="{-quiet}" width="{box}" '
        f'height="{box}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )
