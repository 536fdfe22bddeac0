package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keiko-lab/keiko"
)

// Times are RFC 3339 in UTC with fixed nanoseconds, so they sort as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeFormat, s) }

// SaveSession records a new session, and its learner when first seen.
func (db *DB) SaveSession(ctx context.Context, s keiko.Session) error {
	return db.tx(ctx, "save session "+s.ID, func(tx *sql.Tx) error { return saveSession(ctx, tx, s) })
}

// ContinueSession records next as the continuation of the session prev,
// whose sandbox is gone: next takes over prev's step records, and prev
// ends. It is one transaction, so a crash leaves the learner's progress
// in exactly one active session.
func (db *DB) ContinueSession(ctx context.Context, prev string, next keiko.Session) error {
	return db.tx(ctx, "continue session "+prev+" as "+next.ID, func(tx *sql.Tx) error {
		if err := saveSession(ctx, tx, next); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO step_progress (session_id, step, status, updated_at)
			SELECT ?, step, status, updated_at FROM step_progress WHERE session_id = ?`, next.ID, prev); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL`, formatTime(next.CreatedAt), prev)
		return err
	})
}

func saveSession(ctx context.Context, tx *sql.Tx, s keiko.Session) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO learners (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
		s.LearnerID, formatTime(s.CreatedAt)); err != nil {
		return fmt.Errorf("save learner %s: %w", s.LearnerID, err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, learner_id, scenario_id, workshop_id, namespace, created_at, expires_at) VALUES (?, ?, ?, NULLIF(?, ''), ?, ?, ?)`,
		s.ID, s.LearnerID, s.ScenarioID, s.WorkshopID, s.Namespace, formatTime(s.CreatedAt), formatTime(s.ExpiresAt))
	return err
}

// tx runs f in a transaction, committing when it returns nil.
func (db *DB) tx(ctx context.Context, what string, f func(*sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op
	if err := f(tx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// LearnerAttempts is the learner's latest session of each scenario, with
// its steps' records: what the catalog shows as their progress.
func (db *DB) LearnerAttempts(ctx context.Context, learnerID string) ([]keiko.Attempt, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+sessionColumns+`, COALESCE(p.step, -1), COALESCE(p.status, ''), COALESCE(p.updated_at, '')
		FROM sessions LEFT JOIN step_progress p ON p.session_id = sessions.id
		WHERE learner_id = ? AND created_at = (SELECT MAX(created_at) FROM sessions s2 WHERE s2.learner_id = sessions.learner_id AND s2.scenario_id = sessions.scenario_id)
		ORDER BY created_at`, learnerID)
	if err != nil {
		return nil, fmt.Errorf("sessions of learner %s: %w", learnerID, err)
	}
	defer rows.Close()
	var out []keiko.Attempt
	for rows.Next() {
		var r sessionRow
		var step int
		var status, at string
		if err := rows.Scan(append(r.dest(), &step, &status, &at)...); err != nil {
			return nil, fmt.Errorf("sessions of learner %s: %w", learnerID, err)
		}
		if len(out) == 0 || out[len(out)-1].Session.ID != r.id {
			sess, err := r.session()
			if err != nil {
				return nil, err
			}
			out = append(out, keiko.Attempt{Session: sess, Steps: map[int]keiko.StepRecord{}})
		}
		if step >= 0 {
			t, err := parseTime(at)
			if err != nil {
				return nil, fmt.Errorf("step %d of session %s: %w", step, r.id, err)
			}
			out[len(out)-1].Steps[step] = keiko.StepRecord{Status: keiko.StepStatus(status), At: t}
		}
	}
	return out, rows.Err()
}

// Session returns a session by id.
func (db *DB) Session(ctx context.Context, id string) (keiko.Session, error) {
	row := db.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
	s, err := scanSession(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return keiko.Session{}, keiko.Errorf(keiko.ENOTFOUND, "No session %q.", id)
	}
	return s, err
}

// ActiveSession returns the learner's session of a scenario that has not
// ended, if any: the one a reloaded page or a second visit lands on.
func (db *DB) ActiveSession(ctx context.Context, learnerID, scenarioID string) (keiko.Session, bool, error) {
	row := db.db.QueryRowContext(ctx, `SELECT `+sessionColumns+`
		FROM sessions WHERE learner_id = ? AND scenario_id = ? AND ended_at IS NULL ORDER BY created_at DESC LIMIT 1`, learnerID, scenarioID)
	s, err := scanSession(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return keiko.Session{}, false, nil
	}
	return s, err == nil, err
}

// sessionColumns are what scanSession reads, in its order. The nullable
// columns read as "", which the zero values of keiko.Session mean anyway.
const sessionColumns = `id, learner_id, scenario_id, COALESCE(workshop_id, ''), namespace, created_at, expires_at, COALESCE(ended_at, '')`

func scanSession(scan func(...any) error) (keiko.Session, error) {
	var r sessionRow
	if err := scan(r.dest()...); err != nil {
		return keiko.Session{}, err
	}
	return r.session()
}

// sessionRow is a sessions row as text, before its times are parsed. It
// lets a query that joins sessions to other tables scan them in one go.
type sessionRow struct {
	id, learnerID, scenarioID, workshopID, namespace string
	created, expires, ended                          string
}

// dest returns scan destinations in sessionColumns order.
func (r *sessionRow) dest() []any {
	return []any{&r.id, &r.learnerID, &r.scenarioID, &r.workshopID, &r.namespace, &r.created, &r.expires, &r.ended}
}

func (r sessionRow) session() (keiko.Session, error) {
	s := keiko.Session{ID: r.id, LearnerID: r.learnerID, ScenarioID: r.scenarioID, WorkshopID: r.workshopID, Namespace: r.namespace}
	var err error
	if s.CreatedAt, err = parseTime(r.created); err != nil {
		return s, fmt.Errorf("session %s: created_at: %w", s.ID, err)
	}
	if s.ExpiresAt, err = parseTime(r.expires); err != nil {
		return s, fmt.Errorf("session %s: expires_at: %w", s.ID, err)
	}
	if r.ended != "" {
		if s.EndedAt, err = parseTime(r.ended); err != nil {
			return s, fmt.Errorf("session %s: ended_at: %w", s.ID, err)
		}
	}
	return s, nil
}

// ExtendSession moves a session's deadline.
func (db *DB) ExtendSession(ctx context.Context, id string, expiresAt time.Time) error {
	return db.update(ctx, id, `UPDATE sessions SET expires_at = ? WHERE id = ? AND ended_at IS NULL`, formatTime(expiresAt), id)
}

// EndSession marks a session ended; its progress stays.
func (db *DB) EndSession(ctx context.Context, id string, at time.Time) error {
	return db.update(ctx, id, `UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL`, formatTime(at), id)
}

func (db *DB) update(ctx context.Context, id, query string, args ...any) error {
	res, err := db.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update session %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return keiko.Errorf(keiko.ENOTFOUND, "No active session %q.", id)
	}
	return nil
}

// SetStep records a step's status. A passed step stays passed: a learner
// who later breaks what they built has still done the step.
func (db *DB) SetStep(ctx context.Context, sessionID string, step int, status keiko.StepStatus, at time.Time) error {
	_, err := db.db.ExecContext(ctx, `INSERT INTO step_progress (session_id, step, status, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (session_id, step) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
		WHERE step_progress.status <> 'passed'`, sessionID, step, string(status), formatTime(at))
	if err != nil {
		return fmt.Errorf("record step %d of session %s: %w", step, sessionID, err)
	}
	return nil
}

// Progress returns the recorded status of a session's steps; steps with
// none are pending.
func (db *DB) Progress(ctx context.Context, sessionID string) (map[int]keiko.StepStatus, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT step, status FROM step_progress WHERE session_id = ?`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("progress of session %s: %w", sessionID, err)
	}
	defer rows.Close()
	out := map[int]keiko.StepStatus{}
	for rows.Next() {
		var step int
		var status string
		if err := rows.Scan(&step, &status); err != nil {
			return nil, fmt.Errorf("progress of session %s: %w", sessionID, err)
		}
		out[step] = keiko.StepStatus(status)
	}
	return out, rows.Err()
}

// AddEvent appends to the event log.
func (db *DB) AddEvent(ctx context.Context, e keiko.Event) error {
	data, err := json.Marshal(map[string]int{"step": e.Step})
	if err != nil {
		return err
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO events (session_id, kind, data, created_at) VALUES (?, ?, ?, ?)`,
		e.SessionID, string(e.Kind), string(data), formatTime(e.At)); err != nil {
		return fmt.Errorf("record %s event of session %s: %w", e.Kind, e.SessionID, err)
	}
	return nil
}

// Events returns a session's events in order.
func (db *DB) Events(ctx context.Context, sessionID string) ([]keiko.Event, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT kind, data, created_at FROM events WHERE session_id = ? ORDER BY id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("events of session %s: %w", sessionID, err)
	}
	defer rows.Close()
	var out []keiko.Event
	for rows.Next() {
		var kind, data, at string
		if err := rows.Scan(&kind, &data, &at); err != nil {
			return nil, fmt.Errorf("events of session %s: %w", sessionID, err)
		}
		e := keiko.Event{SessionID: sessionID, Kind: keiko.EventKind(kind), Step: -1}
		var d struct{ Step *int }
		if json.Unmarshal([]byte(data), &d) == nil && d.Step != nil {
			e.Step = *d.Step
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("event of session %s: %w", sessionID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
