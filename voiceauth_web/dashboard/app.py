"""The Streamlit entry point (`voiceauth dashboard`, or `streamlit run` on this file)."""

from __future__ import annotations

import streamlit as st

from voiceauth_web.dashboard.client import ApiClient
from voiceauth_web.dashboard.pages import PAGES


def main() -> None:
    """Pick the service and the page, then draw it."""
    st.set_page_config(page_title="voiceauth", page_icon="🎙️", layout="wide")
    defaults = ApiClient.from_env()
    st.sidebar.title("voiceauth")
    base_url = st.sidebar.text_input("Service", value=defaults.base_url, key="base_url")
    api_key = st.sidebar.text_input(
        "API key", value=defaults.api_key or "", type="password", key="api_key"
    )
    page = st.sidebar.radio("Page", list(PAGES), key="page")
    PAGES[page](ApiClient(base_url=base_url.rstrip("/"), api_key=api_key or None))


main()
