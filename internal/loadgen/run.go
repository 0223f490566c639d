package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// connectConcurrency bounds handshakes in flight; ConnectRate paces them.
const connectConcurrency = 128

// settleTime lets the server finish the handshakes' work before its memory is read.
const settleTime = 2 * time.Second

// stallTimeout ends the drain when nothing has arrived for this long.
const stallTimeout = 3 * time.Second

// subscriber is one measuring connection. Only its reader touches its fields after connect.
type subscriber struct {
	ws    *websocket.Conn
	group int
	next  []uint64 // per publisher worker: the sequence number expected next
	warm  bool     // a warm-up message arrived, so the subscriber is in its group
	buf   []byte
	// reliable protocol: the highest sequence id seen and the last one acknowledged.
	seq, acked uint64
	ackedAt    time.Time
}

// publisher sends one payload to a group and returns once the server accepted it.
type publisher interface {
	publish(ctx context.Context, group int, payload []byte) error
	close()
}

// runner is the state of one run.
type runner struct {
	cfg    Config
	http   *http.Client
	wsPool sync.Pool // write buffers shared by all connections: they rarely write
	tokens tokenCache

	centrifugoTokenOnce sync.Once
	centrifugoTok       string
	centrifugoTokErr    error

	subs    []*subscriber
	readers sync.WaitGroup
	closing atomic.Bool

	phase           atomic.Value // string, for progress
	connected       atomic.Int64
	connectFailures atomic.Int64
	dropped         atomic.Int64
	warmed          atomic.Int64
	published       atomic.Uint64
	publishErrors   atomic.Uint64
	delivered       atomic.Uint64
	duplicates      atomic.Uint64
	misrouted       atomic.Uint64
	lastDelivery    atomic.Int64 // Unix nanoseconds
	latency         Histogram

	errMu    sync.Mutex
	firstErr error
}

// Run opens the connections cfg describes and, unless cfg.Idle, publishes and measures; it
// returns when the run is over or ctx ends. Connections are closed before it returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &runner{
		cfg:  cfg,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Publishers + 1}},
	}
	r.tokens.key = cfg.AccessKey
	r.phase.Store("starting")
	defer r.http.CloseIdleConnections()
	if cfg.Publisher == "client" && !cfg.Idle && (cfg.Rate == 0 || cfg.Rate/float64(cfg.Publishers) > 200) {
		r.notef("warning: a client publisher over the server's limits.maxInboundPerSecond (default 200) is closed; use more --publishers, a lower --rate or raise the limit")
	}

	rep := &Report{Setup: cfg.description(), URL: cfg.URL, Protocol: cfg.Protocol, Idle: cfg.Idle, Subscribers: cfg.Subscribers}
	rep.Memory.RSSBefore, rep.Memory.HeapBefore, err = serverMemory(ctx, r.http, cfg.URL)
	if err != nil {
		rep.Memory.Error = err.Error()
	}

	stopProgress := r.startProgress()
	defer stopProgress()
	defer r.closeAll()

	start := time.Now()
	r.phase.Store("connecting")
	r.connectAll(ctx)
	rep.ConnectSeconds = time.Since(start).Seconds()
	rep.Connected, rep.ConnectFailures = int(r.connected.Load()), int(r.connectFailures.Load())
	if rep.Connected == 0 {
		return nil, fmt.Errorf("no subscriber could connect: %w", r.err())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if cfg.Idle {
		// Memory is read at the end of the hold: by then the server has returned the garbage of
		// the handshakes to the OS, so what remains is what idle connections cost.
		r.phase.Store("holding")
		_ = sleepCtx(ctx, max(cfg.Duration, settleTime))
		r.readMemoryAfter(context.WithoutCancel(ctx), rep)
	} else {
		r.phase.Store("settling")
		if sleepCtx(ctx, settleTime) != nil {
			return nil, ctx.Err()
		}
		r.readMemoryAfter(ctx, rep)
		if err := r.measure(ctx, rep); err != nil {
			return nil, err
		}
	}
	rep.Dropped = int(r.dropped.Load())
	if err := r.err(); err != nil {
		rep.FirstError = err.Error()
	}
	return rep, nil
}

// readMemoryAfter reads the server's memory with every connection open.
func (r *runner) readMemoryAfter(ctx context.Context, rep *Report) {
	if rep.Memory.Error != "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var err error
	rep.Memory.RSSAfter, rep.Memory.HeapAfter, err = serverMemory(ctx, r.http, r.cfg.URL)
	if err != nil {
		rep.Memory.Error = err.Error()
		return
	}
	rep.Memory.perConnection(rep.Connected)
}

// measure warms every subscriber up, publishes, drains and fills in the delivery figures.
func (r *runner) measure(ctx context.Context, rep *Report) error {
	cfg := r.cfg
	pubs := make([]publisher, 0, cfg.Publishers)
	defer func() {
		for _, p := range pubs {
			p.close()
		}
	}()
	for w := range cfg.Publishers {
		p, err := r.newPublisher(ctx, w)
		if err != nil {
			return fmt.Errorf("publisher %d: %w", w, err)
		}
		pubs = append(pubs, p)
	}

	r.phase.Store("warming up")
	if err := r.warmUp(ctx, pubs[0]); err != nil {
		return err
	}
	members := make([]uint64, cfg.Groups)
	for _, s := range r.subs {
		if s != nil {
			members[s.group]++
		}
	}

	r.phase.Store("publishing")
	accepted := make([]atomic.Uint64, cfg.Groups)
	var issued atomic.Int64
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for w, p := range pubs {
		wg.Go(func() { r.publishLoop(ctx, w, p, start, deadline, &issued, accepted) })
	}
	wg.Wait()
	rep.PublishSeconds = time.Since(start).Seconds()
	for g := range accepted {
		n := accepted[g].Load()
		rep.Published += n
		rep.Expected += n * members[g]
	}
	rep.PublishErrors = r.publishErrors.Load()
	if rep.PublishSeconds > 0 {
		rep.PublishRate = float64(rep.Published) / rep.PublishSeconds
	}

	r.phase.Store("draining")
	r.drain(ctx, rep.Expected)
	rep.Delivered = r.delivered.Load()
	rep.Lost = int64(rep.Expected) - int64(rep.Delivered)
	rep.Duplicates = r.duplicates.Load()
	rep.Misrouted = r.misrouted.Load()
	if last := r.lastDelivery.Load(); last > 0 {
		rep.DeliverySeconds = time.Unix(0, last).Sub(start).Seconds()
	}
	if rep.DeliverySeconds > 0 {
		rep.DeliveriesPerSecond = float64(rep.Delivered) / rep.DeliverySeconds
	}
	rep.Latency = latencyOf(&r.latency)
	return nil
}

// warmUp sends warm-up messages to every group until each live subscriber has one: only then
// is it certain that every subscriber is in its group (a token's groups are joined just after
// the connected message is sent), so no measured message can miss anyone for that reason.
func (r *runner) warmUp(ctx context.Context, p publisher) error {
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 0, r.cfg.Size+80)
	for {
		for g := range r.cfg.Groups {
			buf = appendPayload(buf[:0], header{kind: kindWarmup, group: g, sent: time.Now().UnixNano()}, r.cfg.Size)
			if err := p.publish(ctx, g, buf); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		live := r.connected.Load() - r.dropped.Load()
		if r.warmed.Load() >= live {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("warm-up: only %d of %d subscribers received a message to their group within 30 s", r.warmed.Load(), live)
		}
	}
}

// publishLoop is one publisher worker: it sends to the groups in turn, each message numbered
// per worker and group so that subscribers can tell loss from duplicates, paced to its share
// of the rate.
func (r *runner) publishLoop(ctx context.Context, w int, p publisher, start, deadline time.Time, issued *atomic.Int64, accepted []atomic.Uint64) {
	cfg := r.cfg
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(cfg.Publishers) / cfg.Rate)
	}
	seqs := make([]uint64, cfg.Groups)
	buf := make([]byte, 0, cfg.Size+80)
	for k := 0; ; k++ {
		if interval > 0 {
			// Offset workers so that together they publish evenly.
			due := start.Add(time.Duration(k)*interval + time.Duration(w)*interval/time.Duration(cfg.Publishers))
			if d := time.Until(due); d > 0 && sleepCtx(ctx, d) != nil {
				return
			}
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return
		}
		if cfg.Messages > 0 && issued.Add(1) > int64(cfg.Messages) {
			return
		}
		g := (k*cfg.Publishers + w) % cfg.Groups
		h := header{kind: kindMeasured, worker: w, group: g, seq: seqs[g], sent: time.Now().UnixNano()}
		seqs[g]++
		buf = appendPayload(buf[:0], h, cfg.Size)
		if err := p.publish(ctx, g, buf); err != nil {
			r.publishErrors.Add(1)
			r.noteErr(fmt.Errorf("publish: %w", err))
			continue
		}
		accepted[g].Add(1)
		r.published.Add(1)
	}
}

// drain waits until expected deliveries arrived, nothing arrived for stallTimeout, or the
// drain time is up.
func (r *runner) drain(ctx context.Context, expected uint64) {
	deadline := time.Now().Add(r.cfg.Drain)
	last, lastAt := r.delivered.Load(), time.Now()
	for {
		n := r.delivered.Load()
		now := time.Now()
		if n != last {
			last, lastAt = n, now
		}
		if n >= expected || now.Sub(lastAt) >= stallTimeout || now.After(deadline) {
			return
		}
		if sleepCtx(ctx, 10*time.Millisecond) != nil {
			return
		}
	}
}

// receive accounts for one payload found in a subscriber's frame.
func (r *runner) receive(s *subscriber, h header, now time.Time) {
	if h.kind == kindWarmup {
		if !s.warm {
			s.warm = true
			r.warmed.Add(1)
		}
		return
	}
	if h.group != s.group || h.worker >= len(s.next) {
		r.misrouted.Add(1)
		return
	}
	// Each worker publishes one message at a time and the server keeps per-connection order,
	// so sequence numbers arrive rising: a lower one is a duplicate, a gap is loss.
	if h.seq < s.next[h.worker] {
		r.duplicates.Add(1)
		return
	}
	s.next[h.worker] = h.seq + 1
	r.delivered.Add(1)
	r.latency.Record(now.Sub(time.Unix(0, h.sent)))
	r.lastDelivery.Store(now.UnixNano())
}

// connectAll opens every subscriber, paced by ConnectRate, with a bounded number of
// handshakes in flight.
func (r *runner) connectAll(ctx context.Context) {
	r.subs = make([]*subscriber, r.cfg.Subscribers)
	ids := make(chan int)
	go func() {
		defer close(ids)
		interval := time.Duration(float64(time.Second) / r.cfg.ConnectRate)
		start := time.Now()
		for i := range r.cfg.Subscribers {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 && sleepCtx(ctx, d) != nil {
				return
			}
			select {
			case ids <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range min(connectConcurrency, r.cfg.Subscribers) {
		wg.Go(func() {
			for i := range ids {
				s, err := r.dialSubscriber(ctx, i, i%r.cfg.Groups)
				if err != nil {
					r.connectFailures.Add(1)
					r.noteErr(fmt.Errorf("subscriber %d: %w", i, err))
					continue
				}
				r.subs[i] = s
				r.connected.Add(1)
				r.readers.Add(1)
				go r.readLoop(s)
			}
		})
	}
	wg.Wait()
}

// readLoop receives a subscriber's frames until its connection ends.
func (r *runner) readLoop(s *subscriber) {
	defer r.readers.Done()
	for {
		_, rd, err := s.ws.NextReader()
		if err != nil {
			if !r.closing.Load() {
				r.dropped.Add(1)
				r.noteErr(fmt.Errorf("subscriber connection ended: %w", err))
			}
			return
		}
		if s.buf, err = readFrame(rd, s.buf[:0]); err != nil {
			continue // the next NextReader reports a broken connection
		}
		now := time.Now()
		scanPayloads(s.buf, func(h header) { r.receive(s, h, now) })
		if err := r.afterFrame(s, now); err != nil && !r.closing.Load() {
			r.noteErr(err)
		}
	}
}

// readFrame reads a whole message into buf, reusing its memory.
func readFrame(rd io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// closeAll ends every connection with a close frame, so that the server ends reliable
// sessions at once instead of keeping them for a reconnect, and waits for the readers.
func (r *runner) closeAll() {
	r.closing.Store(true)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench over")
	for _, s := range r.subs {
		if s != nil {
			_ = s.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			_ = s.ws.Close()
		}
	}
	r.readers.Wait()
}

// dialer returns the WebSocket dialer for connection i, bound to its source address.
func (r *runner) dialer(i int) *websocket.Dialer {
	d := &websocket.Dialer{
		HandshakeTimeout: 30 * time.Second,
		// Large enough to take a batched write of the server in one read.
		ReadBufferSize:  16 << 10,
		WriteBufferPool: &r.wsPool,
	}
	// A SignalR client names its hub protocol in the handshake, not as a subprotocol, and a
	// Centrifugo client speaks JSON by default.
	if !r.cfg.signalR() && !r.cfg.centrifugo() {
		d.Subprotocols = []string{r.cfg.Protocol}
	}
	if n := len(r.cfg.SourceAddrs); n > 0 {
		local := &net.TCPAddr{IP: net.ParseIP(r.cfg.SourceAddrs[i%n])}
		nd := &net.Dialer{LocalAddr: local, Timeout: 30 * time.Second}
		d.NetDialContext = nd.DialContext
	}
	return d
}

func (r *runner) noteErr(err error) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if r.firstErr == nil {
		r.firstErr = err
	}
}

func (r *runner) err() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.firstErr
}

func (r *runner) notef(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, format+"\n", args...)
	}
}

// startProgress writes a progress line every second until the returned function is called.
// On a terminal the line is rewritten in place.
func (r *runner) startProgress() (stop func()) {
	w := r.cfg.Progress
	if w == nil {
		return func() {}
	}
	inPlace := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			inPlace = true
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		var lastDelivered uint64
		for {
			select {
			case <-done:
				if inPlace {
					fmt.Fprintln(w)
				}
				return
			case <-t.C:
			}
			d := r.delivered.Load()
			line := fmt.Sprintf("%5.0fs %-11s connected %d/%d failed %d dropped %d | published %d errors %d | delivered %d (%s/s) dup %d",
				time.Since(start).Seconds(), r.phase.Load(), r.connected.Load(), r.cfg.Subscribers, r.connectFailures.Load(),
				r.dropped.Load(), r.published.Load(), r.publishErrors.Load(), d, thousands(float64(d-lastDelivered)), r.duplicates.Load())
			lastDelivered = d
			if inPlace {
				fmt.Fprintf(w, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(w, line)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
