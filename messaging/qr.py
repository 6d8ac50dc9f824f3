"""The QR code a letter prints beside the debtor's personal link."""

import base64
import io

import segno
from PIL import Image, ImageOps

# Level M survives a fold or a smudge on paper and keeps a link of ~70
# characters at version 5 (37 modules).
ERROR_LEVEL = "m"
QUIET_ZONE = 4
# Pixels per module: for a version 5 code 8 give 45 x 8 = 360 pixels over the
# letter's 28 mm, about 330 dpi, so a printer or viewer that smooths the image
# anyway (ignoring the PDF's no-interpolation flag) blurs only the outer eighth
# of a module.
PIXELS_PER_MODULE = 8
# A `bytes.translate` table from a module (1 dark, 0 light) to its grey value.
_GREY = bytes([255, 0]) + bytes(254)


def qr_png(url: str) -> bytes:
    """The QR code of a URL as an 8-bit grey PNG, quiet zone included.

    A bitmap rather than SVG: WeasyPrint parses an SVG path command by command
    in Python, about a tenth of a letter's CPU for a version 5 code, and draws a
    bitmap as one image (docs/BENCHMARKS.md, "Letters").
    """
    matrix = segno.make(url, error=ERROR_LEVEL, micro=False).matrix
    size = len(matrix)
    # segno's rows hold 1 for a dark module, 0 for a light one.
    pixels = b"".join(bytes(row) for row in matrix).translate(_GREY)
    image = Image.frombytes("L", (size, size), pixels)
    image = ImageOps.expand(image, border=QUIET_ZONE, fill=255)
    side = (size + 2 * QUIET_ZONE) * PIXELS_PER_MODULE
    image = image.resize((side, side), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_data_uri(url: str) -> str:
    """`qr_png` as a `data:` URI for an `<img>` of a letter's HTML."""
    return "data:image/png;base64," + base64.b64encode(qr_png(url)).decode("ascii")
