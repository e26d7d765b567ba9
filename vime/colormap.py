"""The heatmap colours: viridis, sampled from its published stops, in truecolor
and in the nearest colours of the xterm 256-colour palette.

Viridis (Stéfan van der Walt and Nathaniel Smith, matplotlib 2.0) is
perceptually uniform: equal steps in value look like equal steps in colour,
and lightness rises from end to end, so it reads in grey too. Its five
stops at 0, 1/4, 1/2, 3/4 and 1 are the widely published hex values below;
the levels between them are interpolated here in OKLab (Björn Ottosson,
2020), a space where straight lines change evenly in lightness and hue. This
is not matplotlib's 256-entry table, which vime does not copy.
"""

from __future__ import annotations

import numpy as np

VIRIDIS_STOPS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
LEVELS = 32  # colours of a heatmap; a cell's two halves make LEVELS² highlight pairs at most

# OKLab from linear sRGB: to LMS cone responses, a cube root, then to Lab.
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_LMS_TO_LAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)


def hex_to_rgb(text: str) -> np.ndarray:
    """'#rrggbb' as sRGB in [0, 1]."""
    return np.array([int(text[i : i + 2], 16) for i in (1, 3, 5)]) / 255.0


def rgb_to_hex(rgb: np.ndarray) -> str:
    red, green, blue = np.clip(np.round(np.asarray(rgb) * 255), 0, 255).astype(int)
    return f"#{red:02x}{green:02x}{blue:02x}"


def srgb_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (..., 3) to OKLab (..., 3)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return np.cbrt(linear @ _RGB_TO_LMS.T) @ _LMS_TO_LAB.T


def oklab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """OKLab (..., 3) to sRGB in [0, 1], clipped to the gamut."""
    lms = (np.asarray(lab) @ np.linalg.inv(_LMS_TO_LAB).T) ** 3
    linear = np.clip(lms @ np.linalg.inv(_RGB_TO_LMS).T, 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def viridis(levels: int = LEVELS) -> list[str]:
    """``levels`` colours from the darkest to the lightest, as '#rrggbb'."""
    stops = srgb_to_oklab(np.array([hex_to_rgb(stop) for stop in VIRIDIS_STOPS]))
    where = np.linspace(0, len(stops) - 1, levels)
    below = np.minimum(where.astype(int), len(stops) - 2)
    share = (where - below)[:, None]
    lab = stops[below] * (1 - share) + stops[below + 1] * share
    return [rgb_to_hex(rgb) for rgb in oklab_to_srgb(lab)]


def xterm_colours() -> np.ndarray:
    """sRGB of the xterm colours 16..255: the 6x6x6 cube, then 24 greys.

    Colours 0..15 are left out: every terminal theme redefines them.
    """
    steps = np.array([0, 95, 135, 175, 215, 255]) / 255.0
    cube = np.array([(r, g, b) for r in steps for g in steps for b in steps])
    greys = np.repeat((8 + 10 * np.arange(24))[:, None] / 255.0, 3, axis=1)
    return np.vstack([cube, greys])


def nearest_xterm(hex_colours: list[str]) -> list[int]:
    """The xterm colour number closest to each colour, measured in OKLab."""
    palette = srgb_to_oklab(xterm_colours())
    wanted = srgb_to_oklab(np.array([hex_to_rgb(text) for text in hex_colours]))
    distance = ((wanted[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    return (16 + distance.argmin(axis=1)).tolist()


def palette(levels: int = LEVELS) -> list[tuple[str, int]]:
    """(truecolor '#rrggbb', xterm 256-colour number) per level, darkest first."""
    colours = viridis(levels)
    return list(zip(colours, nearest_xterm(colours), strict=True))
