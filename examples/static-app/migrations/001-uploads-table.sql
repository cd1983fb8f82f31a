-- A real application runs its migrations against its database server here; this example records them.
CREATE TABLE uploads (name TEXT PRIMARY KEY, uploaded_at TEXT NOT NULL);
