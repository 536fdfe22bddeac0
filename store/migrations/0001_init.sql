-- Learners, their sessions, per-step progress, and an append-only event log.
-- Times are stored as RFC 3339 text in UTC so they sort and read well in the
-- sqlite3 shell.

CREATE TABLE learners (
	id           TEXT PRIMARY KEY,
	display_name TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL
);

CREATE TABLE sessions (
	id          TEXT PRIMARY KEY,
	learner_id  TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
	scenario_id TEXT NOT NULL,
	namespace   TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL,
	ended_at    TEXT             -- NULL while the session is active
);

CREATE INDEX sessions_learner_id ON sessions (learner_id);
-- The reaper scans active sessions by deadline.
CREATE INDEX sessions_active_expires_at ON sessions (expires_at) WHERE ended_at IS NULL;

CREATE TABLE step_progress (
	session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	step       INTEGER NOT NULL,
	status     TEXT    NOT NULL CHECK (status IN ('pending', 'passed', 'skipped')),
	updated_at TEXT    NOT NULL,
	PRIMARY KEY (session_id, step)
);

CREATE TABLE events (
	id         INTEGER PRIMARY KEY,
	session_id TEXT REFERENCES sessions (id) ON DELETE SET NULL,
	kind       TEXT NOT NULL,
	data       TEXT NOT NULL DEFAULT '{}', -- JSON
	created_at TEXT NOT NULL
);

CREATE INDEX events_session_id ON events (session_id);
