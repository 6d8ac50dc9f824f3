"""Bar and line charts as inline SVG, drawn on the server.

No JavaScript and nothing fetched: the admin page carries the whole picture,
so it works offline and prints as it looks. Coordinates are Decimal rounded to
a tenth of a pixel; every text goes through `format_html`.
"""

from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 640
HEIGHT = 220
# Room for the value above a bar and the label below it.
TOP, BOTTOM, SIDE = 24, 36, 12
BAR_COLOR = "#417690"
LINE_COLOR = "#205067"
PIXEL = Decimal("0.1")


def _px(value) -> Decimal:
    return Decimal(value).quantize(PIXEL)


def _scale(values) -> Decimal:
    """Pixels per unit so that the largest value fills the plot's height."""
    largest = max(values, default=0)
    plot = HEIGHT - TOP - BOTTOM
    return Decimal(plot) / Decimal(largest) if largest > 0 else Decimal(0)


def _svg(label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" '
        'viewBox="0 0 {} {}" width="{}" height="{}" aria-label="{}">'
        "<title>{}</title>{}</svg>",
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        label,
        label,
        body,
    )


def bar_chart(label: str, bars: list[tuple[str, Decimal, str]]) -> SafeString:
    """Vertical bars; each bar is (label, value, the value as the reader sees it)."""
    scale = _scale(value for _, value, _ in bars)
    slot = Decimal(WIDTH - 2 * SIDE) / max(len(bars), 1)
    baseline = HEIGHT - BOTTOM
    parts = []
    for n, (name, value, text) in enumerate(bars):
        height = _px(Decimal(value) * scale)
        x = _px(SIDE + slot * n + slot / 10)
        centre = _px(SIDE + slot * n + slot / 2)
        parts.append(
            (
                x,
                _px(baseline - height),
                _px(slot * 8 / 10),
                height,
                f"{name}: {text}",
                centre,
                _px(baseline - height - 6),
                text,
                centre,
                baseline + 16,
                name,
            )
        )
    body = format_html_join(
        "",
        '<g><rect x="{}" y="{}" width="{}" height="{}" fill="' + BAR_COLOR + '">'
        "<title>{}</title></rect>"
        '<text x="{}" y="{}" text-anchor="middle" font-size="11">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="11">{}</text></g>',
        parts,
    )
    axis = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>',
        SIDE,
        baseline,
        WIDTH - SIDE,
        baseline,
    )
    return _svg(label, axis + body)


def line_chart(label: str, points: list[tuple[str, Decimal, str]]) -> SafeString:
    """A line through the points in order; each point is (label, value, text).

    The first and last labels stand under the axis; every point names its
    label and value in its tooltip.
    """
    scale = _scale(value for _, value, _ in points)
    baseline = HEIGHT - BOTTOM
    step = Decimal(WIDTH - 2 * SIDE) / max(len(points) - 1, 1)
    coordinates = [
        (_px(SIDE + step * n), _px(baseline - Decimal(value) * scale))
        for n, (_, value, _) in enumerate(points)
    ]
    line = format_html(
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>',
        LINE_COLOR,
        " ".join(f"{x},{y}" for x, y in coordinates),
    )
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3" fill="' + LINE_COLOR + '">'
        "<title>{}: {}</title></circle>",
        (
            (x, y, name, text)
            for (x, y), (name, _, text) in zip(coordinates, points, strict=True)
        ),
    )
    ends = SafeString("")
    if points:
        ends = format_html(
            '<text x="{}" y="{}" font-size="11">{}</text>'
            '<text x="{}" y="{}" text-anchor="end" font-size="11">{}</text>',
            SIDE,
            baseline + 16,
            points[0][0],
            WIDTH - SIDE,
            baseline + 16,
            points[-1][0],
        )
    axis = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>',
        SIDE,
        baseline,
        WIDTH - SIDE,
        baseline,
    )
    return _svg(label, axis + line + dots + ends)
