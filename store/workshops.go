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

// CreateWorkshop records a new workshop under its normalized code, so that
// learners who type the code in another case still find it.
func (db *DB) CreateWorkshop(ctx context.Context, w keiko.Workshop) error {
	w.Code = keiko.NormalizeCode(w.Code)
	if w.Code == "" {
		return keiko.Errorf(keiko.EINVALID, "A workshop needs a join code.")
	}
	if w.Capacity < 0 {
		return keiko.Errorf(keiko.EINVALID, "A workshop's capacity cannot be negative; use 0 for no limit.")
	}
	scenarios := w.Scenarios
	if scenarios == nil {
		scenarios = []string{} // "[]", not "null", for whoever reads the column
	}
	list, err := json.Marshal(scenarios)
	if err != nil {
		return fmt.Errorf("create workshop %s: %w", w.ID, err)
	}

	// Check the code under the write lock (BEGIN IMMEDIATE) rather than
	// decoding the driver's UNIQUE error: two instructors racing for one
	// code both get a clear answer, and the constraint stays a backstop.
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create workshop %s: %w", w.ID, err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op
	var taken bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM workshops WHERE code = ?)`, w.Code).Scan(&taken); err != nil {
		return fmt.Errorf("create workshop %s: %w", w.ID, err)
	}
	if taken {
		return keiko.Errorf(keiko.ECONFLICT, "The code %q is taken by another workshop; choose another.", w.Code)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO workshops (id, code, title, scenarios, capacity, opens_at, closes_at, owner, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		w.ID, w.Code, w.Title, string(list), w.Capacity, formatTime(w.Opens), formatTime(w.Closes), w.Owner, formatTime(w.CreatedAt)); err != nil {
		return fmt.Errorf("create workshop %s: %w", w.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create workshop %s: %w", w.ID, err)
	}
	return nil
}

const workshopColumns = `w.id, w.code, w.title, w.scenarios, w.capacity, w.opens_at, w.closes_at, w.owner, w.created_at`

func scanWorkshop(scan func(...any) error) (keiko.Workshop, error) {
	var w keiko.Workshop
	var list, opens, closes, created string
	if err := scan(&w.ID, &w.Code, &w.Title, &list, &w.Capacity, &opens, &closes, &w.Owner, &created); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(list), &w.Scenarios); err != nil {
		return w, fmt.Errorf("workshop %s: scenarios: %w", w.ID, err)
	}
	var err error
	if w.Opens, err = parseTime(opens); err != nil {
		return w, fmt.Errorf("workshop %s: opens_at: %w", w.ID, err)
	}
	if w.Closes, err = parseTime(closes); err != nil {
		return w, fmt.Errorf("workshop %s: closes_at: %w", w.ID, err)
	}
	if w.CreatedAt, err = parseTime(created); err != nil {
		return w, fmt.Errorf("workshop %s: created_at: %w", w.ID, err)
	}
	return w, nil
}

// Workshop returns a workshop by id.
func (db *DB) Workshop(ctx context.Context, id string) (keiko.Workshop, error) {
	row := db.db.QueryRowContext(ctx, `SELECT `+workshopColumns+` FROM workshops w WHERE w.id = ?`, id)
	w, err := scanWorkshop(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return keiko.Workshop{}, keiko.Errorf(keiko.ENOTFOUND, "No workshop %q.", id)
	}
	if err != nil {
		return keiko.Workshop{}, fmt.Errorf("workshop %s: %w", id, err)
	}
	return w, nil
}

// WorkshopByCode returns the workshop a learner's typed code names. The
// code is normalized first, as CreateWorkshop stored it.
func (db *DB) WorkshopByCode(ctx context.Context, code string) (keiko.Workshop, error) {
	code = keiko.NormalizeCode(code)
	row := db.db.QueryRowContext(ctx, `SELECT `+workshopColumns+` FROM workshops w WHERE w.code = ?`, code)
	w, err := scanWorkshop(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return keiko.Workshop{}, keiko.Errorf(keiko.ENOTFOUND, "No workshop has the code %q; check it with your instructor.", code)
	}
	if err != nil {
		return keiko.Workshop{}, fmt.Errorf("workshop with code %s: %w", code, err)
	}
	return w, nil
}

// Workshops returns an instructor's workshops, newest first, as their list
// shows them; owner "" returns everyone's, for an administrator.
func (db *DB) Workshops(ctx context.Context, owner string) ([]keiko.Workshop, error) {
	q := `SELECT ` + workshopColumns + ` FROM workshops w`
	var args []any
	if owner != "" {
		q += ` WHERE w.owner = ?`
		args = append(args, owner)
	}
	q += ` ORDER BY w.created_at DESC, w.id DESC`
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("workshops of %q: %w", owner, err)
	}
	defer rows.Close()
	var out []keiko.Workshop
	for rows.Next() {
		w, err := scanWorkshop(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("workshops of %q: %w", owner, err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("workshops of %q: %w", owner, err)
	}
	return out, nil
}

// DeleteWorkshop removes a workshop and its memberships. Its sessions and
// their progress stay, no longer linked to it, since they are the learners'.
func (db *DB) DeleteWorkshop(ctx context.Context, id string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM workshops WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete workshop %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return keiko.Errorf(keiko.ENOTFOUND, "No workshop %q.", id)
	}
	return nil
}

// JoinWorkshop makes a learner a member of a workshop, recording the
// learner when first seen. Joining again is a no-op that keeps the first
// joined_at, so a reloaded join page neither fails nor takes a second place.
// Whether the workshop is open is the caller's business: it owns the clock.
func (db *DB) JoinWorkshop(ctx context.Context, workshopID, learnerID string, at time.Time) error {
	// The count and the insert share one transaction, and BEGIN takes the
	// write lock (_txlock=immediate): no two joiners can both see the last
	// free place.
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("join workshop %s: %w", workshopID, err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op

	var capacity, members int
	var member bool
	err = tx.QueryRowContext(ctx, `SELECT capacity,
		(SELECT COUNT(*) FROM workshop_members WHERE workshop_id = w.id),
		EXISTS (SELECT 1 FROM workshop_members WHERE workshop_id = w.id AND learner_id = ?)
		FROM workshops w WHERE w.id = ?`, learnerID, workshopID).Scan(&capacity, &members, &member)
	if errors.Is(err, sql.ErrNoRows) {
		return keiko.Errorf(keiko.ENOTFOUND, "No workshop %q.", workshopID)
	}
	if err != nil {
		return fmt.Errorf("join workshop %s: %w", workshopID, err)
	}
	if member {
		return nil
	}
	if capacity > 0 && members >= capacity {
		return keiko.Errorf(keiko.ECONFLICT, "This workshop is full (%d %s); ask your instructor for a place.", capacity, plural(capacity, "place", "places"))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO learners (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
		learnerID, formatTime(at)); err != nil {
		return fmt.Errorf("save learner %s: %w", learnerID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO workshop_members (workshop_id, learner_id, joined_at) VALUES (?, ?, ?)`,
		workshopID, learnerID, formatTime(at)); err != nil {
		return fmt.Errorf("join workshop %s: %w", workshopID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("join workshop %s: %w", workshopID, err)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Membership returns the workshop a learner joined most recently: the one
// whose scenarios their home page offers.
func (db *DB) Membership(ctx context.Context, learnerID string) (keiko.Workshop, bool, error) {
	// rowid breaks ties between joins in the same instant: it grows with
	// each insert.
	row := db.db.QueryRowContext(ctx, `SELECT `+workshopColumns+`
		FROM workshop_members m JOIN workshops w ON w.id = m.workshop_id
		WHERE m.learner_id = ? ORDER BY m.joined_at DESC, m.rowid DESC LIMIT 1`, learnerID)
	w, err := scanWorkshop(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return keiko.Workshop{}, false, nil
	}
	if err != nil {
		return keiko.Workshop{}, false, fmt.Errorf("workshop of learner %s: %w", learnerID, err)
	}
	return w, true, nil
}

// SetDisplayName sets what a learner is called in an instructor's view. It
// records the learner when first seen, since a learner may name themselves
// before they join anything or start a session.
func (db *DB) SetDisplayName(ctx context.Context, learnerID, name string, at time.Time) error {
	if _, err := db.db.ExecContext(ctx, `INSERT INTO learners (id, display_name, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name`,
		learnerID, name, formatTime(at)); err != nil {
		return fmt.Errorf("set display name of learner %s: %w", learnerID, err)
	}
	return nil
}

// Learner returns a learner by id. Learners exist only once they have done
// something (named themselves, joined, started a session).
func (db *DB) Learner(ctx context.Context, id string) (keiko.Learner, error) {
	var l keiko.Learner
	var created string
	err := db.db.QueryRowContext(ctx, `SELECT id, display_name, created_at FROM learners WHERE id = ?`, id).
		Scan(&l.ID, &l.DisplayName, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return keiko.Learner{}, keiko.Errorf(keiko.ENOTFOUND, "No learner %q.", id)
	}
	if err != nil {
		return keiko.Learner{}, fmt.Errorf("learner %s: %w", id, err)
	}
	if l.CreatedAt, err = parseTime(created); err != nil {
		return keiko.Learner{}, fmt.Errorf("learner %s: created_at: %w", id, err)
	}
	return l, nil
}

// WorkshopProgress returns a workshop's members in the order they joined,
// each with their sessions started from it, oldest first, and those
// sessions' step records: an instructor's grid. Members who have started
// nothing have no Sessions; an unknown workshop has no members.
func (db *DB) WorkshopProgress(ctx context.Context, workshopID string) ([]keiko.Attendee, error) {
	// One query with outer joins rather than one per learner: the grid is
	// polled, and a single statement also reads one consistent snapshot.
	// Columns of the missing side of an outer join are NULL, so they are
	// read as "" (or NullInt64) and a row without a session is told apart
	// by its empty session id.
	rows, err := db.db.QueryContext(ctx, `SELECT l.id, l.display_name, l.created_at, m.joined_at,
		COALESCE(s.id, ''), COALESCE(s.learner_id, ''), COALESCE(s.scenario_id, ''), COALESCE(s.workshop_id, ''),
		COALESCE(s.namespace, ''), COALESCE(s.created_at, ''), COALESCE(s.expires_at, ''), COALESCE(s.ended_at, ''),
		p.step, COALESCE(p.status, ''), COALESCE(p.updated_at, '')
		FROM workshop_members m
		JOIN learners l ON l.id = m.learner_id
		LEFT JOIN sessions s ON s.learner_id = m.learner_id AND s.workshop_id = m.workshop_id
		LEFT JOIN step_progress p ON p.session_id = s.id
		WHERE m.workshop_id = ?
		ORDER BY m.joined_at, m.rowid, s.created_at, s.id, p.step`, workshopID)
	if err != nil {
		return nil, fmt.Errorf("progress of workshop %s: %w", workshopID, err)
	}
	defer rows.Close()

	var out []keiko.Attendee
	for rows.Next() {
		var l keiko.Learner
		var learnerCreated, joined string
		var s sessionRow
		var step sql.NullInt64
		var status, updated string
		dest := append([]any{&l.ID, &l.DisplayName, &learnerCreated, &joined}, s.dest()...)
		dest = append(dest, &step, &status, &updated)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("progress of workshop %s: %w", workshopID, err)
		}

		// Rows come grouped by member, then by session: start a new
		// attendee or attempt only when the id changes.
		if len(out) == 0 || out[len(out)-1].Learner.ID != l.ID {
			a := keiko.Attendee{Learner: l}
			if a.Learner.CreatedAt, err = parseTime(learnerCreated); err != nil {
				return nil, fmt.Errorf("progress of workshop %s: learner %s: created_at: %w", workshopID, l.ID, err)
			}
			if a.JoinedAt, err = parseTime(joined); err != nil {
				return nil, fmt.Errorf("progress of workshop %s: learner %s: joined_at: %w", workshopID, l.ID, err)
			}
			out = append(out, a)
		}
		if s.id == "" {
			continue
		}
		a := &out[len(out)-1]
		if len(a.Sessions) == 0 || a.Sessions[len(a.Sessions)-1].Session.ID != s.id {
			sess, err := s.session()
			if err != nil {
				return nil, fmt.Errorf("progress of workshop %s: %w", workshopID, err)
			}
			a.Sessions = append(a.Sessions, keiko.Attempt{Session: sess, Steps: map[int]keiko.StepRecord{}})
		}
		if !step.Valid {
			continue
		}
		rec := keiko.StepRecord{Status: keiko.StepStatus(status)}
		if rec.At, err = parseTime(updated); err != nil {
			return nil, fmt.Errorf("progress of workshop %s: session %s: step %d: %w", workshopID, s.id, step.Int64, err)
		}
		a.Sessions[len(a.Sessions)-1].Steps[int(step.Int64)] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("progress of workshop %s: %w", workshopID, err)
	}
	return out, nil
}
