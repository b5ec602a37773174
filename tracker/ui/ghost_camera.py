"""A camera with the client's first photo laid faintly over the live picture.

Why not st.camera_input: it shows the bare camera, so the framing guide could only sit
beside it, and a photo at another distance or angle measures differently (texture per mm,
light direction). Here the baseline is drawn over the live view at an adjustable opacity,
so the client lines up the same skin at the same size before taking the picture.

The picture is taken at the camera's full resolution from the video stream, encoded as
JPEG in the browser and handed to Python once (a one-shot trigger value); from there it
goes through the same ingest and analysis as any uploaded file. Everything is inline:
no network, no CDN. Browsers open cameras only on HTTPS or localhost; elsewhere the
component says so and the file picker remains.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import numpy as np
import streamlit as st
from numpy.typing import NDArray

from tracker.errors import Refused
from tracker.ui.inline import jpeg_data_uri

GHOST_SIDE = 1024  # px: the overlay only needs to show where things are

_HTML = """
<div class="gc">
  <div class="gc-frame">
    <video class="gc-video" playsinline muted></video>
    <img class="gc-ghost" alt="your first photo, faint, for framing" hidden>
    <div class="gc-idle">Camera off</div>
  </div>
  <label class="gc-fade-label">Outline strength
    <input class="gc-fade" type="range" min="0" max="80" value="35" aria-label="Outline strength">
  </label>
  <div class="gc-buttons">
    <button type="button" class="gc-start">Start camera</button>
    <button type="button" class="gc-flip" disabled>Switch camera</button>
    <button type="button" class="gc-shoot" disabled>Take photo</button>
  </div>
  <div class="gc-status" role="status"></div>
</div>
"""

_CSS = """
.gc { font-family: inherit; }
.gc-frame { position: relative; width: 100%; aspect-ratio: 4 / 3; background: #222; overflow: hidden;
  border-radius: 8px; }
.gc-video, .gc-ghost { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; }
.gc-ghost { opacity: 0.35; pointer-events: none; }
.gc-idle { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  color: #ddd; font-size: 14px; }
.gc-fade-label { display: flex; gap: 8px; align-items: center; margin: 8px 0; font-size: 14px; }
.gc-fade { flex: 1; }
.gc-buttons { display: flex; gap: 8px; flex-wrap: wrap; }
.gc-buttons button { flex: 1 1 8em; min-height: 44px; border-radius: 8px; border: 1px solid #bbb;
  background: #fff; font-size: 15px; cursor: pointer; }
.gc-buttons .gc-shoot { background: #ff4b4b; color: #fff; border-color: #ff4b4b; }
.gc-buttons button:disabled { opacity: 0.45; cursor: default; }
.gc-status { margin-top: 6px; font-size: 14px; min-height: 1.2em; }
.gc [hidden] { display: none; }
"""

_JS = """
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const $ = (s) => parentElement.querySelector(s);
  const video = $(".gc-video"), ghost = $(".gc-ghost"), idle = $(".gc-idle"), frame = $(".gc-frame");
  const start = $(".gc-start"), flip = $(".gc-flip"), shoot = $(".gc-shoot");
  const fade = $(".gc-fade"), status = $(".gc-status");
  if (data && data.ghost) {
    ghost.src = data.ghost;
    ghost.hidden = false;
    idle.hidden = true;
  }
  ghost.style.opacity = fade.value / 100;
  let stream = null;
  let facing = "user";  // the front camera: the client sees the screen, and the outline
  const stop = () => {
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
  };
  const open = async () => {
    stop();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = "This page cannot open the camera (it needs HTTPS). Choose a photo file instead.";
      return;
    }
    status.textContent = "Opening the camera…";
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: facing, width: { ideal: 4096 }, height: { ideal: 3072 } }, audio: false,
      });
      video.srcObject = stream;
      await video.play();
      frame.style.aspectRatio = video.videoWidth + " / " + video.videoHeight;
      idle.hidden = true;
      shoot.disabled = false;
      flip.disabled = false;
      status.textContent = "Line the skin up with the faint photo, then take the picture.";
    } catch (e) {
      status.textContent = "The camera could not be opened (" + e.name + "). Choose a photo file instead.";
    }
  };
  start.onclick = open;
  flip.onclick = () => { facing = facing === "user" ? "environment" : "user"; open(); };
  fade.oninput = () => { ghost.style.opacity = fade.value / 100; };
  shoot.onclick = () => {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return;
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    canvas.getContext("2d").drawImage(video, 0, 0, w, h);
    const url = canvas.toDataURL("image/jpeg", 0.92);
    setTriggerValue("photo", { jpeg: url.slice(url.indexOf(",") + 1), width: w, height: h });
    status.textContent = "Photo taken (" + w + "×" + h + " px). Press Upload below to send it.";
  };
  return () => stop();
}
"""

_component = st.components.v2.component("tracker.ghost_camera", html=_HTML, css=_CSS, js=_JS)


@dataclass(frozen=True)
class CameraPhoto:
    """A picture from the camera, shaped like an uploaded file for the upload loop."""

    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def ghost_uri(rgb: NDArray[np.uint8]) -> str:
    return jpeg_data_uri(rgb, GHOST_SIDE, 80)


def decode_shot(value: object, max_bytes: int) -> bytes:
    """The JPEG bytes of a trigger value, refusing anything malformed or too large before
    decoding it (ingest then checks the image itself)."""
    if not isinstance(value, dict) or not isinstance(value.get("jpeg"), str):
        raise Refused("The camera sent no picture. Please take it again.")
    text = value["jpeg"]
    if len(text) > (max_bytes * 4) // 3 + 4:
        raise Refused(f"The camera picture is larger than {max_bytes // 1_000_000} MB.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("The camera picture arrived damaged. Please take it again.") from None


def ghost_camera(ghost: NDArray[np.uint8] | None, *, key: str) -> object:
    """Mount the camera; returns the trigger value of a picture just taken, else None."""
    result = _component(
        key=key,
        data={"ghost": ghost_uri(ghost) if ghost is not None else None},
        on_photo_change=lambda: None,
    )
    return getattr(result, "photo", None)
