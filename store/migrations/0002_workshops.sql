-- Workshops: an instructor's room of learners who join with a code, and the
-- link from a session to the workshop it was started from.

CREATE TABLE workshops (
	id         TEXT    PRIMARY KEY,
	code       TEXT    NOT NULL UNIQUE,            -- as keiko.NormalizeCode returns it
	title      TEXT    NOT NULL DEFAULT '',
	scenarios  TEXT    NOT NULL DEFAULT '[]',      -- JSON array of scenario ids, in order
	capacity   INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0), -- 0: no limit
	opens_at   TEXT    NOT NULL,
	closes_at  TEXT    NOT NULL,
	owner      TEXT    NOT NULL DEFAULT '',
	created_at TEXT    NOT NULL
);

-- An instructor's list of their workshops, newest first.
CREATE INDEX workshops_owner ON workshops (owner, created_at);

CREATE TABLE workshop_members (
	workshop_id TEXT NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
	learner_id  TEXT NOT NULL REFERENCES learners (id) ON DELETE CASCADE,
	joined_at   TEXT NOT NULL,
	PRIMARY KEY (workshop_id, learner_id)
);

-- A learner's latest workshop; also serves the learners cascade.
CREATE INDEX workshop_members_learner_id ON workshop_members (learner_id, joined_at);

-- NULL for sessions started outside a workshop. Deleting a workshop keeps
-- its sessions and their progress but forgets the link. SQLite allows a
-- REFERENCES clause in ADD COLUMN only because the default is NULL.
ALTER TABLE sessions ADD COLUMN workshop_id TEXT REFERENCES workshops (id) ON DELETE SET NULL;

-- An instructor's grid reads a workshop's sessions; deleting a workshop
-- looks them up to clear the link.
CREATE INDEX sessions_workshop_id ON sessions (workshop_id);
