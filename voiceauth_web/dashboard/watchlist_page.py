"""The dashboard's fraud watchlist page: the entries, their matches over time, report fraud."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from voiceauth_web.dashboard.client import ApiClient, ApiError

__all__ = ["watchlist_page"]


def _matches(attempts: list[dict[str, Any]]) -> pd.DataFrame:
    """The attempts that matched a watchlist entry: time, entry, label, score, decision."""
    rows = [
        {
            "created_at": attempt["created_at"],
            "entryId": attempt["watchlist"]["entryId"],
            "label": attempt["watchlist"]["label"],
            "score": attempt["watchlist"]["score"],
            "decision": attempt["decision"],
            "userId": attempt["userId"],
        }
        for attempt in attempts
        if attempt.get("watchlist")
    ]
    frame = pd.DataFrame(
        rows, columns=["created_at", "entryId", "label", "score", "decision", "userId"]
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def _report(client: ApiClient, attempts: list[dict[str, Any]]) -> None:
    """One click from an attempt judged fraudulent to a watchlist entry."""
    st.subheader("Report fraud")
    scored = [a for a in attempts if a["decision"] in ("accept", "reject", "step_up")]
    if not scored:
        st.info("No scored attempt to report.")
        return
    shown = {
        f"{a['created_at']} · user {a['userId'][:8]} · {a['decision']} · {a['channel']}": a["id"]
        for a in scored[:100]
    }
    chosen = st.selectbox("Attempt", list(shown), key="report_attempt")
    label = st.text_input("Label", key="report_label", placeholder="what the fraud team calls it")
    note = st.text_area("Note", key="report_note")
    if st.button("Report fraud", type="primary", disabled=not label.strip()):
        try:
            entry = client.report_fraud(shown[chosen], label.strip(), note)
        except ApiError as exc:
            st.error(f"{exc.name}: {exc.message}")
            return
        st.success(f"Added to the watchlist as {entry['entryId']}.")


def watchlist_page(client: ApiClient) -> None:
    """The watchlist's entries, the calls that matched them over time, and report fraud."""
    st.header("Fraud watchlist")
    try:
        with st.spinner("Loading the watchlist…"):
            entries = client.watchlist()
            attempts = client.attempts(limit=500)
    except ApiError as exc:
        st.error(f"{exc.name}: {exc.message}")
        return
    matches = _matches(attempts)
    st.metric("Entries", len(entries))
    if entries:
        table = pd.DataFrame(entries)
        counts = matches["entryId"].value_counts()
        table["matches"] = table["entryId"].map(counts).fillna(0).astype(int)
        st.dataframe(
            table[["label", "note", "source", "createdAt", "matches", "entryId"]], hide_index=True
        )
    else:
        st.info("The watchlist is empty: report an attempt below.")
    st.subheader("Matches over time")
    if matches.empty:
        st.info("No call has matched the watchlist in the recent attempts.")
    else:
        matches["day"] = matches["created_at"].dt.floor("D")
        st.altair_chart(
            alt.Chart(matches).mark_bar().encode(x="day:T", y="count():Q", color="label:N"),
            width="stretch",
        )
        st.dataframe(matches.drop(columns=["day"]), hide_index=True)
    _report(client, attempts)
    if entries:
        st.subheader("Erase an entry")
        doomed = st.selectbox(
            "Entry", [f"{e['label']} · {e['entryId']}" for e in entries], key="erase_entry"
        )
        confirm = st.checkbox("I want to erase this entry and its voice", key="erase_confirm")
        if st.button("Erase entry", disabled=not confirm):
            try:
                client.delete_watchlist_entry(doomed.rsplit(" · ", 1)[-1])
            except ApiError as exc:
                st.error(f"{exc.name}: {exc.message}")
                return
            st.success("Entry erased.")
