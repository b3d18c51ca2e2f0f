"""TEST DOUBLE of FuriosaAI's ``furiosa`` namespace package (see ``runtime/sync.py``)."""
