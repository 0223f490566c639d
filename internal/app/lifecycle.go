package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// lifecycle records, in the order they start, how to stop the parts of the server, and stops
// them in the reverse order. Every part is therefore stopped after the parts that use it (they
// started later, since they needed it to start), which is the whole shutdown rule: nothing is
// closed while something still reads or writes it, and no order is written down twice.
type lifecycle struct {
	mu    sync.Mutex
	stops []namedStop
	// failed is closed when a running part ends by itself, which ends the whole server.
	failed     chan struct{}
	failedOnce sync.Once
}

type namedStop struct {
	name string
	stop func(context.Context) error
}

func newLifecycle() *lifecycle { return &lifecycle{failed: make(chan struct{})} }

// onStop registers how to stop a part that has just started.
func (l *lifecycle) onStop(name string, stop func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stops = append(l.stops, namedStop{name, stop})
}

// run starts a part that works until its context ends; its stop cancels that context.
func (l *lifecycle) run(name string, part func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	l.start(name, func() error { return part(ctx) }, func(context.Context) error { cancel(); return nil })
}

// start runs work in a goroutine; the part's stop calls stop, then waits for work to return and
// reports its error. A part whose work returns before it is stopped ends the whole server.
func (l *lifecycle) start(name string, work func() error, stop func(context.Context) error) {
	done := make(chan error, 1)
	stopping := make(chan struct{})
	go func() {
		err := work()
		select {
		case <-stopping:
		default:
			l.fail()
		}
		done <- err
	}()
	l.onStop(name, func(ctx context.Context) error {
		close(stopping)
		return errors.Join(stop(ctx), <-done)
	})
}

func (l *lifecycle) fail() { l.failedOnce.Do(func() { close(l.failed) }) }

// stopAll stops every registered part, last started first, each with ctx, and forgets them. It
// goes on past a part that fails to stop, so one failure does not leave the others running.
func (l *lifecycle) stopAll(ctx context.Context) error {
	l.mu.Lock()
	stops := l.stops
	l.stops = nil
	l.mu.Unlock()
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		if err := stops[i].stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", stops[i].name, err))
		}
	}
	return errors.Join(errs...)
}
