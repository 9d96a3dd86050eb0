-- A held deletion is on one version of the item: an edit after the hold
-- cancels it, and approval deletes only that version.
ALTER TABLE held_deletes ADD COLUMN version TEXT NOT NULL DEFAULT '';

-- What a run left undone: items waiting for a retry, items changed during
-- the run and planned again, items skipped, and a summary in words.
ALTER TABLE runs ADD COLUMN waiting   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN replanned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN skipped   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN undone    TEXT    NOT NULL DEFAULT '';
