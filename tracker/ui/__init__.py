"""The Streamlit edge: helpers the pages share. Only pages and app.py import this."""
