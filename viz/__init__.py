"""Browser UI (Solara) over the model."""
