-- Schema version 5: the token of each pair's baseline state
-- (syncengine.BaselineIndexCache). Every transaction that changes a pair's
-- items gives it a new random value; 0 is a state with no token, whose
-- index is not cached.
ALTER TABLE pairs ADD COLUMN baseline_token INTEGER NOT NULL DEFAULT 0;
