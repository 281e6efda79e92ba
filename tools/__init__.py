"""Project tools that keep generated text in step with its sources (``make chart-docs``)."""
