"""The dashboard's pages: health, enrol, users, try a verification, analytics, watchlist."""

from __future__ import annotations

import uuid
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from voiceauth_web.dashboard.client import ApiClient, ApiError
from voiceauth_web.dashboard.watchlist_page import watchlist_page

__all__ = ["PAGES"]


def _fail(exc: ApiError) -> None:
    """The API's own error, as it said it."""
    st.error(f"{exc.name}: {exc.message}")


def _audio_input(key: str) -> tuple[bytes, str, str] | None:
    """An uploaded file or a recording made in the browser."""
    uploaded = st.file_uploader(
        "Audio file", type=["wav", "flac", "ogg", "mp3", "m4a", "webm"], key=f"{key}-file"
    )
    recorded = st.audio_input("…or record", key=f"{key}-mic")
    chosen = uploaded or recorded
    if chosen is None:
        return None
    return chosen.getvalue(), chosen.name or "recording.wav", chosen.type or "audio/wav"


def health_page(client: ApiClient) -> None:
    """Component health, model, operating point, version."""
    st.header("Service health")
    try:
        with st.spinner("Asking the service…"):
            health = client.health()
    except ApiError as exc:
        _fail(exc)
        return
    status = health.get("status", "unknown")
    (st.success if status == "ok" else st.error)(f"Status: {status}")
    cols = st.columns(3)
    cols[0].metric("Threshold", health.get("threshold"))
    cols[1].metric("Version", health.get("version"))
    cols[2].metric("Model", str(health.get("modelId", "")).split("@")[-1])
    st.caption(f"Model: {health.get('modelId')}")
    st.info(f"Operating point: {health.get('operatingPoint')}")
    rows = [{"component": name, **values} for name, values in health.get("components", {}).items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def enrol_page(client: ApiClient) -> None:
    """Create or pick a user, then add samples."""
    st.header("Enrol a voice")
    if "enrol_user" not in st.session_state:
        st.session_state.enrol_user = str(uuid.uuid4())
    if st.button("New user id"):
        st.session_state.enrol_user = str(uuid.uuid4())
    user_id = st.text_input("User id (UUID)", key="enrol_user")
    phone = st.text_input("Phone (E.164, optional)", key="enrol_phone")
    replace = st.checkbox("Replace the enrolment instead of adding to it", key="enrol_replace")
    audio = _audio_input("enrol")
    if st.button("Add sample", type="primary", disabled=audio is None) and audio is not None:
        data, name, kind = audio
        try:
            with st.spinner("Decoding, finding speech, embedding…"):
                result = client.enroll(
                    user_id, data, name, kind, phone=phone or None, replace=replace
                )
        except ApiError as exc:
            _fail(exc)
            return
        st.success(f"Enrolled: {result['sampleCount']} sample(s)")
        cols = st.columns(3)
        cols[0].metric("Net speech in this sample", f"{result['sampleSpeechSeconds']:.1f} s")
        cols[1].metric("Net speech in the enrolment", f"{result['speechSeconds']:.1f} s")
        cols[2].metric("Samples", result["sampleCount"])
        if result["strongEnough"]:
            st.success("The enrolment is strong enough.")
        else:
            st.warning("Add more speech: the enrolment is not strong enough yet.")


def users_page(client: ApiClient) -> None:
    """Searchable, paginated users; a user's detail; erasure with confirmation."""
    st.header("Users")
    cursors: list[str | None] = st.session_state.setdefault("user_cursors", [None])
    try:
        page = client.users(limit=20, cursor=cursors[-1])
    except ApiError as exc:
        _fail(exc)
        return
    query = st.text_input("Search (user id or last digits of the phone)", key="user_search")
    users = [
        u
        for u in page["users"]
        if not query or query.lower() in u["userId"] or query in (u.get("phone") or "")
    ]
    st.dataframe(pd.DataFrame(users), hide_index=True)
    previous, following = st.columns(2)
    if previous.button("Previous page", disabled=len(cursors) == 1):
        cursors.pop()
        st.rerun()
    if following.button("Next page", disabled=not page.get("nextCursor")):
        cursors.append(page["nextCursor"])
        st.rerun()
    if not users:
        st.info("No users on this page.")
        return
    chosen = st.selectbox("User", [u["userId"] for u in users], key="user_chosen")
    try:
        user = client.user(chosen)
        attempts = client.history(chosen, limit=20)
    except ApiError as exc:
        _fail(exc)
        return
    st.subheader(f"User {chosen}")
    cols = st.columns(5)
    cols[0].metric("Phone", user.get("phone") or "—")
    cols[1].metric("Samples", user["sampleCount"])
    cols[2].metric("Net speech", f"{user['speechSeconds']:.1f} s")
    cols[3].metric("Strong enough", "yes" if user["strongEnough"] else "no")
    twin = user.get("phoneBandVoiceprint", False)
    cols[4].metric("Phone-band voiceprint", "yes" if twin else "no — replace to add")
    st.caption(f"Enrolled {user['enrolledAt']}, updated {user['updatedAt']}")
    st.dataframe(pd.DataFrame(attempts), hide_index=True)
    confirm = st.checkbox("I want to erase this user's voiceprint and history", key="user_confirm")
    if st.button("Delete user", disabled=not confirm):
        try:
            client.delete_user(chosen)
        except ApiError as exc:
            _fail(exc)
            return
        st.success(f"User {chosen} erased.")


def verify_page(client: ApiClient) -> None:
    """Verify a recording against a user and show the decision against the threshold."""
    st.header("Try a verification")
    user_id = st.text_input("User id (UUID)", key="verify_user")
    audio = _audio_input("verify")
    if st.button("Verify", type="primary", disabled=audio is None or not user_id) and audio:
        data, name, kind = audio
        try:
            with st.spinner("Listening and scoring…"):
                result = client.verify(user_id, data, name, kind)
        except ApiError as exc:
            _fail(exc)
            return
        (st.success if result["success"] else st.error)(result["message"])
        cols = st.columns(4)
        cols[0].metric("Decision", result["decision"])
        cols[1].metric(
            "Calibrated score", f"{result['score']:.3f}", f"threshold {result['threshold']}"
        )
        raw = result.get("rawScore")
        cols[2].metric("Raw cosine", "—" if raw is None else f"{raw:.3f}")
        cols[3].metric("Speech used", f"{result['speechSeconds']:.1f} s")
        spoof = result.get("spoofScore")
        if spoof is not None:
            st.metric(
                "Synthetic-speech probability",
                f"{spoof:.3f}",
                f"risk {result.get('spoofRisk')}",
                delta_color="off",
            )


def _attempt_frame(attempts: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(attempts)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def analytics_page(client: ApiClient) -> None:
    """Attempts over time, decision rates, score distributions, per-user history."""
    st.header("Analytics")
    try:
        with st.spinner("Loading attempts…"):
            attempts = client.attempts(limit=500)
            threshold = float(client.health().get("threshold", 0.82))
    except ApiError as exc:
        _fail(exc)
        return
    if not attempts:
        st.info("No verification attempts yet.")
        return
    frame = _attempt_frame(attempts)
    frame["hour"] = frame["created_at"].dt.floor("h")
    st.subheader("Attempts over time")
    st.altair_chart(
        alt.Chart(frame).mark_bar().encode(x="hour:T", y="count():Q", color="decision:N"),
        width="stretch",
    )
    st.subheader("Decisions")
    rates = frame["decision"].value_counts(normalize=True).rename_axis("decision").reset_index()
    st.altair_chart(
        alt.Chart(rates)
        .mark_bar()
        .encode(x="decision:N", y=alt.Y("proportion:Q", axis=alt.Axis(format="%"))),
        width="stretch",
    )
    scored = frame.dropna(subset=["score"])
    if not scored.empty:
        st.subheader("Scores of accepted and rejected callers")
        bars = (
            alt.Chart(scored)
            .mark_bar(opacity=0.6)
            .encode(
                x=alt.X("score:Q", bin=alt.Bin(maxbins=20), scale=alt.Scale(domain=[0, 1])),
                y="count():Q",
                color="decision:N",
            )
        )
        rule = (
            alt.Chart(pd.DataFrame({"threshold": [threshold]}))
            .mark_rule(color="red")
            .encode(x="threshold:Q")
        )
        st.altair_chart(bars + rule, width="stretch")
    if "spoofScore" in frame and frame["spoofScore"].notna().any():
        st.subheader("Synthetic-speech risk")
        assessed = frame.dropna(subset=["spoofScore"])
        st.altair_chart(
            alt.Chart(assessed)
            .mark_bar(opacity=0.7)
            .encode(
                x=alt.X(
                    "spoofScore:Q",
                    bin=alt.Bin(maxbins=20),
                    scale=alt.Scale(domain=[0, 1]),
                    title="probability the audio is synthetic or replayed",
                ),
                y="count():Q",
                color="spoofRisk:N",
            ),
            width="stretch",
        )
    if "challenge" in frame and frame["challenge"].notna().any():
        st.subheader("Liveness challenge answers")
        answered = frame.dropna(subset=["challenge"])
        st.altair_chart(
            alt.Chart(answered)
            .mark_bar()
            .encode(x=alt.X("challenge:N", title="outcome"), y="count():Q", color="channel:N"),
            width="stretch",
        )
    st.subheader("One user's history")
    chosen = st.selectbox("User", sorted(frame["userId"].unique()), key="analytics_user")
    mine = frame[frame["userId"] == chosen]
    st.altair_chart(
        alt.Chart(mine)
        .mark_circle(size=80)
        .encode(
            x="created_at:T", y=alt.Y("score:Q", scale=alt.Scale(domain=[0, 1])), color="decision:N"
        ),
        width="stretch",
    )


PAGES = {
    "Health": health_page,
    "Enrol": enrol_page,
    "Users": users_page,
    "Try a verification": verify_page,
    "Analytics": analytics_page,
    "Fraud watchlist": watchlist_page,
}
