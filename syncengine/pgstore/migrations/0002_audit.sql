-- Schema version 2: the admin audit log and the stop policies' run counters.

-- The audit log (syncengine.AuditStore): append-only, read newest first,
-- filtered by pair, project, actor, kind and time. Free text is bytea like
-- the rest of the schema; details is a JSON object of strings. Entries are
-- kept when a pair is forgotten.
CREATE TABLE audit (
	id      bigserial PRIMARY KEY,
	time    bigint NOT NULL,
	actor   bytea  NOT NULL,
	kind    bytea  NOT NULL,
	pair    bytea  NOT NULL,
	project bytea  NOT NULL,
	details bytea  NOT NULL
);
CREATE INDEX audit_time    ON audit(time, id);
CREATE INDEX audit_pair    ON audit(pair, time, id);
CREATE INDEX audit_project ON audit(project, time, id);

-- The run counters of each pair's stop policy (syncengine.StopCounterStore).
CREATE TABLE stop_counts (
	pair        text   PRIMARY KEY,
	runs        bigint NOT NULL,
	successes   bigint NOT NULL,
	failures    bigint NOT NULL,
	consecutive bigint NOT NULL,
	last_run    bigint NOT NULL
);
