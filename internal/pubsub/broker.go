package pubsub

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Op is what an envelope asks the hub to do.
type Op uint8

const (
	OpSend Op = iota
	OpAddToGroups
	OpRemoveFromGroups
	OpClose
	OpGrant
	OpRevoke
)

// TargetKind says which index a selector looks in.
type TargetKind uint8

const (
	ToAll TargetKind = iota
	ToGroup
	ToUser
	ToConnection
)

// Selector names a set of connections of one hub.
type Selector struct {
	Kind TargetKind
	Name string // group, user or connection id
	// Excluded connection ids are skipped.
	Excluded []string
	// ExceptConnection is skipped too: the sender of a noEcho message.
	ExceptConnection string
	// Filter is an expression in the service's filter language (OData for Web PubSub).
	Filter string

	compiled func(*Conn) bool
}

// compile parses the filter on first use and keeps the result with the selector.
func (s *Selector) compile(parse FilterParser) (func(*Conn) bool, error) {
	if s.Filter == "" || s.compiled != nil {
		return s.compiled, nil
	}
	if parse == nil {
		return nil, ErrFilterRequired
	}
	m, err := parse(s.Filter)
	if err != nil {
		return nil, err
	}
	s.compiled = m
	return m, nil
}

// FilterParser compiles a filter expression into a predicate over connections.
type FilterParser func(expr string) (func(*Conn) bool, error)

// Envelope is one hub operation on its way through the broker. Its exported fields are all a
// broker needs to carry it.
type Envelope struct {
	Hub     string
	Op      Op
	To      Selector
	Message *Message // OpSend
	Groups  []string // OpAddToGroups, OpRemoveFromGroups (none: remove from all)
	// KeepForUser makes OpAddToGroups to a user a membership of the user, not only of the
	// connections it has now: the user's later connections join the groups too, until
	// MembershipExpires (zero: until removed). A removal from a user's groups always ends it.
	KeepForUser       bool
	MembershipExpires time.Time
	Reason            string // OpClose
	// Permission and PermissionTarget (a group; empty = every group) for OpGrant and OpRevoke.
	Permission       Permission
	PermissionTarget string
}

// Broker carries envelopes from publishers to the service that applies them. [MemoryBroker],
// the only implementation, hands them over in memory; another could carry them between
// processes.
type Broker interface {
	// Publish hands e to the subscriber; an error means it may not have been applied.
	Publish(ctx context.Context, e *Envelope) error
	// Subscribe delivers every envelope published from its return until ctx ends to deliver.
	Subscribe(ctx context.Context, deliver func(*Envelope)) error
}

// ErrNotSubscribed is returned by a publish to a broker nobody has subscribed to yet: the
// message could not reach any connection, so it must not be acknowledged.
var ErrNotSubscribed = errors.New("the service is not started: nothing receives from the broker")

// MemoryBroker is the in-memory broker: Publish applies the envelope before it returns, so a
// publisher knows its message is queued to every recipient.
type MemoryBroker struct {
	mu      sync.RWMutex
	deliver func(*Envelope)
}

// NewMemoryBroker returns an in-memory broker with no subscriber yet.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{} }

// Publish applies e through the subscriber.
func (b *MemoryBroker) Publish(_ context.Context, e *Envelope) error {
	b.mu.RLock()
	deliver := b.deliver
	b.mu.RUnlock()
	if deliver == nil {
		return ErrNotSubscribed
	}
	deliver(e)
	return nil
}

// Subscribe registers deliver until ctx ends.
func (b *MemoryBroker) Subscribe(ctx context.Context, deliver func(*Envelope)) error {
	b.mu.Lock()
	b.deliver = deliver
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		b.deliver = nil
		b.mu.Unlock()
	}()
	return nil
}
