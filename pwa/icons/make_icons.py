"""Draw the gate app's PNG icons with Pillow: `python pwa/icons/make_icons.py`."""

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent
BRAND = (6, 59, 42)
WHITE = (255, 255, 255)


def draw_icon(size: int, padding: float) -> Image.Image:
    """A white gate (two posts and a bar) on the brand green."""
    image = Image.new("RGB", (size, size), BRAND)
    draw = ImageDraw.Draw(image)
    unit = size * (1 - 2 * padding) / 10
    left = size * padding
    top = size * padding

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (left + x0 * unit, top + y0 * unit, left + x1 * unit, top + y1 * unit)

    draw.rectangle(box(1, 1.5, 2.5, 9), fill=WHITE)
    draw.rectangle(box(7.5, 1.5, 9, 9), fill=WHITE)
    draw.rectangle(box(2.5, 3.5, 7.5, 4.7), fill=WHITE)
    draw.rectangle(box(2.5, 6, 7.5, 7.2), fill=WHITE)
    return image


def main() -> None:
    """Write every icon the manifest names."""
    draw_icon(192, 0.08).save(HERE / "icon-192.png", optimize=True)
    draw_icon(512, 0.08).save(HERE / "icon-512.png", optimize=True)
    # Maskable icons are cropped to a circle by some launchers: keep the drawing in the middle.
    draw_icon(512, 0.2).save(HERE / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
