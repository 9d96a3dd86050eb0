-- Schema version 4: the admin audit log and the stop policies' run counters.

-- The audit log (syncengine.AuditStore): append-only, read newest first,
-- filtered by pair, project, actor, kind and time. details is a JSON object
-- of strings. Entries are kept when a pair is forgotten.
CREATE TABLE audit (
	id      INTEGER PRIMARY KEY,
	time    INTEGER NOT NULL,
	actor   TEXT    NOT NULL,
	kind    TEXT    NOT NULL,
	pair    TEXT    NOT NULL,
	project TEXT    NOT NULL,
	details TEXT    NOT NULL
);
CREATE INDEX audit_time    ON audit(time, id);
CREATE INDEX audit_pair    ON audit(pair, time, id);
CREATE INDEX audit_project ON audit(project, time, id);

-- The run counters of each pair's stop policy (syncengine.StopCounterStore).
CREATE TABLE stop_counts (
	pair        TEXT    PRIMARY KEY,
	runs        INTEGER NOT NULL,
	successes   INTEGER NOT NULL,
	failures    INTEGER NOT NULL,
	consecutive INTEGER NOT NULL,
	last_run    INTEGER NOT NULL
) WITHOUT ROWID;
