package pubsub

import (
	"context"
	"sync"
)

// Op is what an envelope asks every node to do.
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

// compile parses the filter once per node and keeps the result with the selector.
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

// Envelope is one hub operation as it travels between nodes. Its exported fields are all a broker
// needs to carry it.
type Envelope struct {
	Hub     string
	Op      Op
	To      Selector
	Message *Message // OpSend
	Groups  []string // OpAddToGroups, OpRemoveFromGroups (none: remove from all)
	Reason  string   // OpClose
	// Permission and PermissionTarget (a group; empty = every group) for OpGrant and OpRevoke.
	Permission       Permission
	PermissionTarget string
}

// Broker carries envelopes to every node of the cluster, the publishing one included.
type Broker interface {
	Publish(ctx context.Context, e *Envelope) error
	// Subscribe delivers every published envelope to deliver until ctx ends.
	Subscribe(ctx context.Context, deliver func(*Envelope)) error
}

// MemoryBroker is the single-node broker: Publish applies the envelope before it returns, so a
// publisher knows its message is queued to every local recipient.
type MemoryBroker struct {
	mu      sync.RWMutex
	deliver func(*Envelope)
}

// NewMemoryBroker returns a broker for a service that runs alone.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{} }

// Publish applies e on this node.
func (b *MemoryBroker) Publish(_ context.Context, e *Envelope) error {
	b.mu.RLock()
	deliver := b.deliver
	b.mu.RUnlock()
	if deliver != nil {
		deliver(e)
	}
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
