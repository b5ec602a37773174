"""Progress over a treatment course: plans and due dates, series with noise bands,
recovery curves and flags. Pure code in plans/series/recovery/flags; service.py loads a
client's data and assembles it."""
