-- Schema version 1: the initial procoresync metadata schema.
-- Times are unix nanoseconds (0 is the zero time.Time); sides are 0 (A) and 1 (B).

CREATE TABLE pairs (
	pid          INTEGER PRIMARY KEY,
	pair_id      TEXT    NOT NULL UNIQUE,
	initialized  INTEGER NOT NULL DEFAULT 0,
	paused       INTEGER NOT NULL DEFAULT 0,
	pause_reason TEXT    NOT NULL DEFAULT '',
	cursor_a     TEXT    NOT NULL DEFAULT '',
	cursor_b     TEXT    NOT NULL DEFAULT '',
	root_a       TEXT    NOT NULL DEFAULT '',
	root_b       TEXT    NOT NULL DEFAULT '',
	last_run     INTEGER NOT NULL DEFAULT 0,
	last_success INTEGER NOT NULL DEFAULT 0
);

-- Baseline items, clustered by (pair, key) so that streaming a pair's
-- baseline in Key order reads its rows in storage order. pair references
-- pairs.pid so that the pair's name is not repeated in every row and index
-- entry. Keys come from counters('item_key') and are never reused. The
-- columns that are looked up have their own columns and indexes; the rest
-- of the item (is_dir, and per side parent ID, version, size, modification
-- time and hashes) is packed into rest (see items.go).
CREATE TABLE items (
	pair   INTEGER NOT NULL REFERENCES pairs(pid),
	key    INTEGER NOT NULL,
	a_id   TEXT    NOT NULL,
	a_path TEXT    NOT NULL,
	b_id   TEXT    NOT NULL,
	b_path TEXT    NOT NULL,
	rest   BLOB    NOT NULL,
	PRIMARY KEY (pair, key)
) WITHOUT ROWID;
CREATE INDEX items_a_id   ON items(pair, a_id);
CREATE INDEX items_b_id   ON items(pair, b_id);
CREATE INDEX items_a_path ON items(pair, a_path);
CREATE INDEX items_b_path ON items(pair, b_path);

CREATE TABLE counters (
	name  TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('item_key', 0);

CREATE TABLE journal (
	id      INTEGER PRIMARY KEY,
	pair    TEXT    NOT NULL,
	run_id  INTEGER NOT NULL,
	action  TEXT    NOT NULL, -- JSON of syncengine.Action
	state   INTEGER NOT NULL,
	error   TEXT    NOT NULL,
	started INTEGER NOT NULL,
	ended   INTEGER NOT NULL
);
CREATE INDEX journal_pending ON journal(pair, id) WHERE state = 0;

CREATE TABLE uploads (
	pair      TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	parent_id TEXT    NOT NULL,
	name      TEXT    NOT NULL,
	size      INTEGER NOT NULL,
	offset    INTEGER NOT NULL,
	token     TEXT    NOT NULL,
	expires   INTEGER NOT NULL,
	PRIMARY KEY (pair, key)
);

CREATE TABLE runs (
	id             INTEGER PRIMARY KEY,
	pair           TEXT    NOT NULL,
	initial        INTEGER NOT NULL,
	started        INTEGER NOT NULL,
	ended          INTEGER NOT NULL,
	status         TEXT    NOT NULL,
	error          TEXT    NOT NULL,
	files_copied   INTEGER NOT NULL,
	folders_made   INTEGER NOT NULL,
	moved          INTEGER NOT NULL,
	deleted        INTEGER NOT NULL,
	linked         INTEGER NOT NULL,
	conflicts      INTEGER NOT NULL,
	held           INTEGER NOT NULL,
	failed         INTEGER NOT NULL,
	bytes_copied   INTEGER NOT NULL,
	bytes_deleted  INTEGER NOT NULL,
	transfer_nanos INTEGER NOT NULL
);
CREATE INDEX runs_pair ON runs(pair, started, id);

CREATE TABLE activity (
	id     INTEGER PRIMARY KEY,
	pair   TEXT    NOT NULL,
	run_id INTEGER NOT NULL,
	time   INTEGER NOT NULL,
	kind   INTEGER NOT NULL,
	side   INTEGER NOT NULL,
	path   TEXT    NOT NULL,
	size   INTEGER NOT NULL,
	detail TEXT    NOT NULL
);
CREATE INDEX activity_pair ON activity(pair, time, id);

CREATE TABLE errors (
	id     INTEGER PRIMARY KEY,
	pair   TEXT    NOT NULL,
	run_id INTEGER NOT NULL,
	time   INTEGER NOT NULL,
	side   INTEGER NOT NULL,
	path   TEXT    NOT NULL,
	op     TEXT    NOT NULL,
	error  TEXT    NOT NULL
);
CREATE INDEX errors_pair ON errors(pair, time, id);

CREATE TABLE failures (
	pair         TEXT    NOT NULL,
	side         INTEGER NOT NULL,
	path         TEXT    NOT NULL,
	error        TEXT    NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	quarantined  INTEGER NOT NULL,
	updated      INTEGER NOT NULL,
	PRIMARY KEY (pair, side, path)
);

CREATE TABLE delete_ledger (
	id   INTEGER PRIMARY KEY,
	pair TEXT    NOT NULL,
	time INTEGER NOT NULL,
	n    INTEGER NOT NULL
);
CREATE INDEX delete_ledger_pair ON delete_ledger(pair, time);

CREATE TABLE held_deletes (
	id         INTEGER PRIMARY KEY,
	pair       TEXT    NOT NULL,
	key        INTEGER NOT NULL,
	deleted_on INTEGER NOT NULL,
	path       TEXT    NOT NULL,
	is_dir     INTEGER NOT NULL,
	size       INTEGER NOT NULL,
	held       INTEGER NOT NULL,
	UNIQUE (pair, key, deleted_on)
);
