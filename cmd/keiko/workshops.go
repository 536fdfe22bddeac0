package main

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/server"
	"github.com/keiko-lab/keiko/store"
)

// workshops runs instructors' workshops over the store. It implements
// server.Workshops; it needs no cluster, so it serves from the first
// second.
type workshops struct {
	db  *store.DB
	now func() time.Time
}

// maxWorkshop bounds a workshop's window: a forgotten one should not
// take learners' sessions for months.
const maxWorkshop = 31 * 24 * time.Hour

func (w *workshops) Create(ctx context.Context, who server.Staff, ws keiko.Workshop) (keiko.Workshop, error) {
	ws.Title = strings.TrimSpace(ws.Title)
	switch {
	case ws.Title == "":
		return ws, keiko.Errorf(keiko.EINVALID, "Give the workshop a title, such as “Cloud Native Kansai #42”.")
	case len(ws.Scenarios) == 0:
		return ws, keiko.Errorf(keiko.EINVALID, "Choose at least one scenario for the workshop.")
	case ws.Capacity < 0:
		return ws, keiko.Errorf(keiko.EINVALID, "Capacity is a number of learners, or 0 for no limit.")
	case !ws.Closes.After(ws.Opens):
		return ws, keiko.Errorf(keiko.EINVALID, "The workshop must close after it opens.")
	case ws.Closes.Sub(ws.Opens) > maxWorkshop:
		return ws, keiko.Errorf(keiko.EINVALID, "A workshop lasts at most %d days.", int(maxWorkshop.Hours()/24))
	}
	if ws.Code == "" {
		ws.Code = joinCode()
	}
	ws.Code = keiko.NormalizeCode(ws.Code)
	if !validCode(ws.Code) {
		return ws, keiko.Errorf(keiko.EINVALID, "A join code is 4 to 32 letters, digits and dashes, such as KANSAI-42.")
	}
	ws.ID, ws.Owner, ws.CreatedAt = "w"+strings.ToLower(joinCode()), who.Name, w.now()
	if err := w.db.CreateWorkshop(ctx, ws); err != nil {
		return ws, err
	}
	return ws, nil
}

func validCode(code string) bool {
	if len(code) < 4 || len(code) > 32 {
		return false
	}
	for _, r := range code {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// joinCode is six characters a room can read off a projector and type:
// no 0/O, 1/I/L.
func joinCode() string {
	const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (w *workshops) List(ctx context.Context, who server.Staff) ([]keiko.Workshop, error) {
	owner := who.Name
	if who.Admin() {
		owner = ""
	}
	return w.db.Workshops(ctx, owner)
}

// mine is the workshop if who may see it; otherwise it does not exist.
func (w *workshops) mine(ctx context.Context, who server.Staff, id string) (keiko.Workshop, error) {
	ws, err := w.db.Workshop(ctx, id)
	if err == nil && !who.Admin() && ws.Owner != who.Name {
		err = keiko.Errorf(keiko.ENOTFOUND, "No workshop %q.", id)
	}
	return ws, err
}

func (w *workshops) Attendees(ctx context.Context, who server.Staff, id string) (keiko.Workshop, []keiko.Attendee, error) {
	ws, err := w.mine(ctx, who, id)
	if err != nil {
		return ws, nil, err
	}
	a, err := w.db.WorkshopProgress(ctx, id)
	return ws, a, err
}

func (w *workshops) Delete(ctx context.Context, who server.Staff, id string) error {
	if _, err := w.mine(ctx, who, id); err != nil {
		return err
	}
	return w.db.DeleteWorkshop(ctx, id)
}

func (w *workshops) Join(ctx context.Context, learnerID, code, displayName string) (keiko.Workshop, error) {
	ws, err := w.db.WorkshopByCode(ctx, code)
	if err != nil {
		return ws, err
	}
	now := w.now()
	switch {
	case now.Before(ws.Opens):
		return ws, keiko.Errorf(keiko.ECONFLICT, "%s opens at %s; join again then.", ws.Title, ws.Opens.Format("2006-01-02 15:04 MST"))
	case !now.Before(ws.Closes):
		return ws, keiko.Errorf(keiko.ECONFLICT, "%s has closed. Every scenario is still open to you from the catalog.", ws.Title)
	}
	if err := w.db.JoinWorkshop(ctx, ws.ID, learnerID, now); err != nil {
		return ws, err
	}
	if name := strings.TrimSpace(displayName); name != "" {
		if err := w.db.SetDisplayName(ctx, learnerID, name, now); err != nil {
			return ws, err
		}
	}
	return ws, nil
}

func (w *workshops) Learner(ctx context.Context, learnerID string) (keiko.Learner, *keiko.Workshop, error) {
	l, err := w.db.Learner(ctx, learnerID)
	if keiko.ErrorCode(err) == keiko.ENOTFOUND {
		return keiko.Learner{ID: learnerID}, nil, nil // a first visit
	}
	if err != nil {
		return l, nil, err
	}
	ws, ok, err := w.db.Membership(ctx, learnerID)
	if err != nil || !ok {
		return l, nil, err
	}
	return l, &ws, nil
}

func (w *workshops) Rename(ctx context.Context, learnerID, displayName string) error {
	return w.db.SetDisplayName(ctx, learnerID, strings.TrimSpace(displayName), w.now())
}
