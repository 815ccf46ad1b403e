"""The operator dashboard (Streamlit): enrol, manage, test and analyse, over the HTTP API only."""
