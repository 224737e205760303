"""Reading chain state: the typed view of chainlets (`model.py`) and its readers, live or from a
snapshot (`reader.py`)."""
