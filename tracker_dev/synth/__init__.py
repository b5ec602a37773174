"""Physics-based renderer of skin close-up photos with ground truth (design §3.8).

Used to build the committed demo data set (``python -m tracker_dev.synth sample_photos/``) and by
validation tests of the metrics, since there are no real client photos. Layers:
:mod:`~tracker_dev.synth.optics` (spectral skin reflectance), :mod:`~tracker_dev.synth.camera`
(illuminant, camera sensitivities, white balance, sRGB), :mod:`~tracker_dev.synth.scene` (maps,
texture, zones, chart, pose; one photo) and :mod:`~tracker_dev.synth.demo_set` (the demo clients).
"""

from __future__ import annotations

from tracker_dev.synth.camera import (
    DEFAULT_CAMERA,
    ILLUMINANTS,
    PatchResponse,
    linear_srgb_to_lab,
    patch_response,
    srgb_decode,
    srgb_encode,
)
from tracker_dev.synth.optics import WAVELENGTHS, skin_reflectance
from tracker_dev.synth.scene import (
    CHART_SIZE_MM,
    ChartPlacement,
    Framing,
    Glare,
    PhotoSpec,
    Rendered,
    SkinScene,
    Spot,
    TextureParams,
    polygon_mask,
    rectangle,
    render_photo,
)

__all__ = [
    "CHART_SIZE_MM",
    "DEFAULT_CAMERA",
    "ILLUMINANTS",
    "WAVELENGTHS",
    "ChartPlacement",
    "Framing",
    "Glare",
    "PatchResponse",
    "PhotoSpec",
    "Rendered",
    "SkinScene",
    "Spot",
    "TextureParams",
    "linear_srgb_to_lab",
    "patch_response",
    "polygon_mask",
    "rectangle",
    "render_photo",
    "skin_reflectance",
    "srgb_decode",
    "srgb_encode",
]
