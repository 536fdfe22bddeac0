package terminal

import (
	"context"
	"fmt"
	"sync"
)

// Starter starts the shell of a session.
type Starter func(ctx context.Context, sessionID string) (Backend, error)

// Registry keeps one Terminal per session, starting its shell on first use
// and again after it has exited, so a learner who typed `exit` gets a
// fresh shell on reconnect.
type Registry struct {
	start Starter
	opts  Options
	mu    sync.Mutex
	terms map[string]*Terminal
}

// NewRegistry returns a Registry that starts shells with start.
func NewRegistry(start Starter, opts Options) *Registry {
	return &Registry{start: start, opts: opts, terms: map[string]*Terminal{}}
}

// Get returns session id's Terminal, starting its shell if needed.
func (r *Registry) Get(ctx context.Context, id string) (*Terminal, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.terms[id]; ok {
		select {
		case <-t.Done():
		default:
			return t, nil
		}
	}
	b, err := r.start(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("start shell for %s: %w", id, err)
	}
	t := New(b, r.opts)
	r.terms[id] = t
	return t, nil
}

// Close ends session id's shell, if it has one.
func (r *Registry) Close(id string) {
	r.mu.Lock()
	t, ok := r.terms[id]
	delete(r.terms, id)
	r.mu.Unlock()
	if ok {
		_ = t.Close()
	}
}

// CloseAll ends every shell, for shutdown.
func (r *Registry) CloseAll() {
	r.mu.Lock()
	terms := r.terms
	r.terms = map[string]*Terminal{}
	r.mu.Unlock()
	for _, t := range terms {
		_ = t.Close()
	}
}

// Len is the number of terminals held.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.terms)
}
