-- Schema version 1: the procoresync metadata schema on PostgreSQL.
-- Times are unix nanoseconds in bigint (0 is the zero time.Time), so that
-- they keep full precision; sides are 0 (A) and 1 (B). Free text (IDs,
-- paths, versions, cursors, messages) is bytea: Go strings may hold bytes
-- that text cannot (NUL, invalid UTF-8), and byte-wise order is what path
-- ranges need. Pair IDs are text (UTF-8 without NUL).

CREATE TABLE pairs (
	pid          bigserial PRIMARY KEY,
	pair_id      text    NOT NULL UNIQUE,
	initialized  boolean NOT NULL DEFAULT false,
	paused       boolean NOT NULL DEFAULT false,
	pause_reason bytea   NOT NULL DEFAULT '',
	cursor_a     bytea   NOT NULL DEFAULT '',
	cursor_b     bytea   NOT NULL DEFAULT '',
	root_a       bytea   NOT NULL DEFAULT '',
	root_b       bytea   NOT NULL DEFAULT '',
	last_run     bigint  NOT NULL DEFAULT 0,
	last_success bigint  NOT NULL DEFAULT 0
);

-- Item keys come from one sequence and are never reused, so concurrent
-- writers never hand out the same Key.
CREATE SEQUENCE item_key;

-- Baseline items. hashes is NULL when a side has none (see items.go).
CREATE TABLE items (
	pair        bigint  NOT NULL REFERENCES pairs(pid),
	key         bigint  NOT NULL,
	is_dir      boolean NOT NULL,
	a_id        bytea   NOT NULL,
	a_parent_id bytea   NOT NULL,
	a_path      bytea   NOT NULL,
	a_version   bytea   NOT NULL,
	a_size      bigint  NOT NULL,
	a_mtime     bigint  NOT NULL,
	a_hashes    bytea,
	b_id        bytea   NOT NULL,
	b_parent_id bytea   NOT NULL,
	b_path      bytea   NOT NULL,
	b_version   bytea   NOT NULL,
	b_size      bigint  NOT NULL,
	b_mtime     bigint  NOT NULL,
	b_hashes    bytea,
	PRIMARY KEY (pair, key)
);
CREATE INDEX items_a_id   ON items(pair, a_id);
CREATE INDEX items_b_id   ON items(pair, b_id);
CREATE INDEX items_a_path ON items(pair, a_path);
CREATE INDEX items_b_path ON items(pair, b_path);

CREATE TABLE journal (
	id      bigserial PRIMARY KEY,
	pair    text     NOT NULL,
	run_id  bigint   NOT NULL,
	action  bytea    NOT NULL, -- JSON of syncengine.Action
	state   smallint NOT NULL,
	error   bytea    NOT NULL,
	started bigint   NOT NULL,
	ended   bigint   NOT NULL
);
CREATE INDEX journal_pending ON journal(pair, id) WHERE state = 0;

CREATE TABLE uploads (
	pair      text   NOT NULL,
	key       bytea  NOT NULL,
	parent_id bytea  NOT NULL,
	name      bytea  NOT NULL,
	size      bigint NOT NULL,
	"offset"  bigint NOT NULL,
	token     bytea  NOT NULL, -- an upload URL: a bearer credential
	expires   bigint NOT NULL,
	PRIMARY KEY (pair, key)
);

CREATE TABLE runs (
	id             bigserial PRIMARY KEY,
	pair           text    NOT NULL,
	initial        boolean NOT NULL,
	started        bigint  NOT NULL,
	ended          bigint  NOT NULL,
	status         text    NOT NULL,
	error          bytea   NOT NULL,
	files_copied   bigint  NOT NULL,
	folders_made   bigint  NOT NULL,
	moved          bigint  NOT NULL,
	deleted        bigint  NOT NULL,
	linked         bigint  NOT NULL,
	conflicts      bigint  NOT NULL,
	held           bigint  NOT NULL,
	failed         bigint  NOT NULL,
	waiting        bigint  NOT NULL,
	replanned      bigint  NOT NULL,
	skipped        bigint  NOT NULL,
	bytes_copied   bigint  NOT NULL,
	bytes_deleted  bigint  NOT NULL,
	transfer_nanos bigint  NOT NULL,
	undone         bytea   NOT NULL
);
CREATE INDEX runs_pair ON runs(pair, started, id);

CREATE TABLE activity (
	id     bigserial PRIMARY KEY,
	pair   text     NOT NULL,
	run_id bigint   NOT NULL,
	time   bigint   NOT NULL,
	kind   smallint NOT NULL,
	side   smallint NOT NULL,
	path   bytea    NOT NULL,
	size   bigint   NOT NULL,
	detail bytea    NOT NULL
);
CREATE INDEX activity_pair ON activity(pair, time, id);
CREATE INDEX activity_run ON activity(run_id, id);

CREATE TABLE errors (
	id     bigserial PRIMARY KEY,
	pair   text     NOT NULL,
	run_id bigint   NOT NULL,
	time   bigint   NOT NULL,
	side   smallint NOT NULL,
	path   bytea    NOT NULL,
	op     bytea    NOT NULL,
	error  bytea    NOT NULL
);
CREATE INDEX errors_pair ON errors(pair, time, id);

CREATE TABLE failures (
	pair         text     NOT NULL,
	side         smallint NOT NULL,
	path         bytea    NOT NULL,
	error        bytea    NOT NULL,
	attempts     bigint   NOT NULL,
	next_attempt bigint   NOT NULL,
	quarantined  boolean  NOT NULL,
	updated      bigint   NOT NULL,
	PRIMARY KEY (pair, side, path)
);

CREATE TABLE delete_ledger (
	id   bigserial PRIMARY KEY,
	pair text   NOT NULL,
	time bigint NOT NULL,
	n    bigint NOT NULL
);
CREATE INDEX delete_ledger_pair ON delete_ledger(pair, time);

CREATE TABLE held_deletes (
	id         bigserial PRIMARY KEY,
	pair       text     NOT NULL,
	key        bigint   NOT NULL,
	deleted_on smallint NOT NULL,
	path       bytea    NOT NULL,
	is_dir     boolean  NOT NULL,
	size       bigint   NOT NULL,
	held       bigint   NOT NULL,
	version    bytea    NOT NULL,
	UNIQUE (pair, key, deleted_on)
);

-- Leases: the worker that owns a pair's state. Times are the database
-- server's (clock_timestamp()), never a worker's. token comes from
-- lease_token and changes with every acquisition, so a worker whose lease
-- was taken over can tell (fencing).
CREATE SEQUENCE lease_token;
CREATE TABLE pair_leases (
	pair_id  text        PRIMARY KEY,
	owner    text        NOT NULL,
	token    bigint      NOT NULL,
	acquired timestamptz NOT NULL,
	expires  timestamptz NOT NULL
);
