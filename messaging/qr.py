"""The QR code a letter prints beside the debtor's personal link."""

import base64
import io

import zxingcpp
from PIL import Image

# Level M survives a fold or a smudge on paper and keeps a link of ~70
# characters at version 5 (37 modules).
ERROR_LEVEL = "M"
# Pixels per module: for a version 5 code 8 give 45 x 8 = 360 pixels (the code
# and its quiet zone of 4 modules a side) over the letter's 28 mm, about 330
# dpi, so a printer or viewer that smooths the image anyway (ignoring the PDF's
# no-interpolation flag) blurs only the outer eighth of a module.
PIXELS_PER_MODULE = 8


def qr_png(url: str) -> bytes:
    """The QR code of a URL as an 8-bit grey PNG, quiet zone included.

    A bitmap rather than SVG: WeasyPrint parses an SVG path command by command
    in Python, about a tenth of a letter's CPU for a version 5 code, and draws a
    bitmap as one image. zxing-cpp encodes it in C++, with the mask of lowest
    penalty as the standard asks, in a tenth of the time a pure-Python encoder
    takes to try its eight masks (docs/BENCHMARKS.md, "Letters").
    """
    code = zxingcpp.create_barcode(
        url, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_LEVEL
    )
    bitmap = memoryview(code.to_image(scale=PIXELS_PER_MODULE, add_quiet_zones=True))
    height, width = bitmap.shape
    image = Image.frombytes("L", (width, height), bitmap.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_data_uri(url: str) -> str:
    """`qr_png` as a `data:` URI for an `<img>` of a letter's HTML."""
    return "data:image/png;base64," + base64.b64encode(qr_png(url)).decode("ascii")
