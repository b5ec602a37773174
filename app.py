"""Streamlit entry point. For now one page: the clinic's clients with their sessions and
photos. Sign-in, roles and the real pages come with issue 5; until then the app listens
on localhost only (.streamlit/config.toml)."""

from __future__ import annotations

import streamlit as st

from tracker import services
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.permissions import Actor


def get_app() -> App:
    """One App (engine, blob store) per configuration, shared by all sessions."""
    return _app_for(Settings().model_dump_json())


@st.cache_resource
def _app_for(settings_json: str) -> App:
    return open_app(Settings.model_validate_json(settings_json))


@st.cache_data(max_entries=2000, show_spinner=False)
def thumbnail(_app_key: str, photo_id: int, clinic_id: int) -> bytes:
    return services.photo_bytes(get_app(), Actor.operator(clinic_id), photo_id, "thumbnail")


def main() -> None:
    st.set_page_config(page_title="Recovery tracker", page_icon="🩹", layout="wide")
    app = get_app()
    with app.uow() as uow:
        clinics = [(c.id, c.name) for c in uow.repo.clinics()]
    st.title("Recovery-photo tracker")
    if not clinics:
        st.info("No data yet. Load the demo with `python -m tracker demo`, or import photos.")
        return
    clinic_id, clinic_name = clinics[0]
    if len(clinics) > 1:
        clinic_id, clinic_name = st.selectbox("Clinic", clinics, format_func=lambda c: c[1])
    rows = services.overview(app, Actor.operator(clinic_id))
    photos = sum(r.photo_count for r in rows)
    st.caption(f"{clinic_name} · {len(rows)} clients · {photos} photos")
    for row in rows:
        concern = row.concern.label if row.concern else "no course"
        title = f"{row.name} — {concern}, {len(row.sessions)}/{row.planned_sessions} sessions"
        with st.expander(title, expanded=len(rows) <= 3):
            for session in row.sessions:
                depth = f", {session.needle_depth_mm} mm" if session.needle_depth_mm else ""
                st.markdown(
                    f"**Session {session.number}** · {session.at:%d %b %Y %H:%M}"
                    f" · {session.device or 'device not recorded'}{depth}"
                )
                if not session.photos:
                    st.caption("No photos yet.")
                    continue
                columns = st.columns(6)
                for i, photo in enumerate(session.photos):
                    with columns[i % 6]:
                        st.image(
                            thumbnail(str(app.settings.data_dir), photo.id, clinic_id),
                            caption=f"{photo.kind.value} · {photo.taken_at:%d %b %H:%M}",
                            width="stretch",
                        )


main()
