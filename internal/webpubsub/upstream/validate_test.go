package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestValidation(t *testing.T) {
	type answer struct {
		status  int
		origins []string // WebHook-Allowed-Origin values
	}
	ok := func(origins ...string) answer { return answer{200, origins} }
	tests := []struct {
		name        string
		options     answer
		get         *answer // nil: GET is not expected
		wantMethods []string
		allowed     bool
	}{
		{name: "any origin", options: ok("*"), allowed: true},
		{name: "this origin, any case", options: ok("HUDDLE.test:8080"), allowed: true},
		{name: "one of several header values", options: ok("other.test", testOrigin), allowed: true},
		{name: "one of a comma list", options: ok("other.test, " + testOrigin), allowed: true},
		{name: "204 counts as success", options: answer{204, []string{"*"}}, allowed: true},
		{name: "another origin", options: ok("other.test")},
		{name: "same host, no port", options: ok("huddle.test")},
		{name: "no header", options: ok()},
		{name: "error status", options: answer{500, []string{"*"}}},
		{name: "405 is not retried", options: answer{405, nil}},
		{name: "404 retries with GET", options: answer{404, nil}, get: &answer{200, []string{"*"}}, allowed: true},
		{name: "404 twice", options: answer{404, nil}, get: &answer{404, nil}},
		{name: "GET must allow too", options: answer{404, nil}, get: &answer{200, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probes := make(chan request, 4)
			events := make(chan request, 4)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var a answer
				switch r.Method {
				case http.MethodOptions:
					a = tt.options
				case http.MethodGet:
					a = *tt.get
				default:
					events <- record(r)
					w.WriteHeader(http.StatusNoContent)
					return
				}
				probes <- record(r)
				for _, o := range a.origins {
					w.Header().Add("WebHook-Allowed-Origin", o)
				}
				w.WriteHeader(a.status)
			}))
			t.Cleanup(srv.Close)
			c := newClient(t, everything(srv), Options{Sign: sign})
			_, err := c.Connect(context.Background(), &Conn{ConnectionID: "c"}, ConnectRequest{})

			wantMethods := []string{http.MethodOptions}
			if tt.get != nil {
				wantMethods = append(wantMethods, http.MethodGet)
			}
			for _, m := range wantMethods {
				p := next(t, probes)
				if p.Method != m || p.Path != "/api/Chat/validate" {
					t.Errorf("validation request = %s %s, want %s /api/Chat/validate", p.Method, p.Path, m)
				}
				if o, v := p.Header.Get("WebHook-Request-Origin"), p.Header.Get("ce-awpsversion"); o != testOrigin || v != "1.0" {
					t.Errorf("WebHook-Request-Origin %q, ce-awpsversion %q", o, v)
				}
				if s := p.Header.Get("ce-signature"); s != "" {
					t.Errorf("validation signed: %q", s)
				}
			}
			noMore(t, probes)
			if tt.allowed {
				if err != nil {
					t.Fatal(err)
				}
				next(t, events)
				return
			}
			if !errors.Is(err, ErrNotValidated) {
				t.Fatalf("err = %v, want ErrNotValidated", err)
			}
			noMore(t, events)
		})
	}
}

// fakeApp is an event handler in a synctest bubble whose validation answer the test controls.
type fakeApp struct {
	mu       sync.Mutex
	allow    bool
	down     bool // nothing answers: requests fail as with a refused connection
	attempts int  // validations tried, answered or not
	probes   int  // validations answered
	events   int
	block    chan struct{} // when not nil, validations wait for it to close
	hangPost bool          // events wait until their request ends
}

func (a *fakeApp) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	block, hang := a.block, a.hangPost
	if r.Method == http.MethodOptions {
		a.probes++
		allow := a.allow
		a.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		if allow {
			w.Header().Set("WebHook-Allowed-Origin", "*")
		}
		return
	}
	a.events++
	a.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *fakeApp) set(f func(a *fakeApp)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func (a *fakeApp) counts() (probes, events int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.probes, a.events
}

// RoundTrip serves a request, or fails it while the app is down.
func (a *fakeApp) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	if r.Method == http.MethodOptions {
		a.attempts++
	}
	down := a.down
	a.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	return memTransport{http.HandlerFunc(a.serve)}.RoundTrip(r)
}

func (a *fakeApp) validations() (attempts, answered int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.attempts, a.probes
}

func newFakeClient(t *testing.T, a *fakeApp, l *logs, opts Options) *Client {
	opts.HTTPClient = &http.Client{Transport: a}
	if l != nil {
		opts.Logger = l.logger()
	}
	return newClient(t, []Handler{{URLTemplate: "http://app.test/{event}", UserEvents: "*"}}, opts)
}

// TestValidationSchedule walks fake time through the life of one handler URL: validated with
// its first event, then again on its own schedule whatever the events: a minute after a
// success, after 1 s, 2 s, 4 s … up to a minute after refusals; a validation that gets no answer
// keeps the last answer. Each change is logged once however many events pass.
func TestValidationSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeApp{allow: true}
		var l logs
		c := newFakeClient(t, a, &l, Options{})
		conn := &Conn{ConnectionID: "c"}
		attempts := 0
		// expect sends an event, checks whether abuse protection let it through, and counts the
		// validations tried so far.
		expect := func(step string, admitted bool) {
			t.Helper()
			_, err := c.UserEvent(context.Background(), conn, "e", "text/plain", nil)
			if errors.Is(err, ErrNotValidated) == admitted {
				t.Fatalf("%s: err = %v, want admitted %v", step, err, admitted)
			}
			if n, _ := a.validations(); n != attempts {
				t.Fatalf("%s: %d validations, want %d", step, n, attempts)
			}
		}
		// after lets fake time pass, and says whether a validation is due at its end.
		after := func(d time.Duration, validates bool) {
			t.Helper()
			time.Sleep(d)
			synctest.Wait()
			if validates {
				attempts++
			}
		}
		attempts++
		expect("the first event waits for the first validation", true)
		after(revalidateAfter-time.Millisecond, false)
		expect("a success is trusted for a minute", true)

		a.set(func(a *fakeApp) { a.allow = false })
		after(time.Millisecond, true)
		expect("revalidated a minute later without an event, and refused", false)
		backoff := func(step string, admitted bool, waits ...time.Duration) {
			t.Helper()
			for _, wait := range waits {
				after(wait-time.Millisecond, false)
				expect(step+": no retry before the backoff ends", admitted)
				after(time.Millisecond, true)
				expect(step+": retried when the backoff ends", admitted)
			}
		}
		backoff("refused", false, time.Second, 2*time.Second, 4*time.Second, 8*time.Second, 16*time.Second, 32*time.Second, time.Minute, time.Minute)

		a.set(func(a *fakeApp) { a.allow = true })
		after(time.Minute, true)
		expect("accepted again", true)

		a.set(func(a *fakeApp) { a.down = true })
		after(time.Minute, true)
		backoff("down after a success: its consent stands", true, time.Second, 2*time.Second)
		a.set(func(a *fakeApp) { a.down, a.allow = false, false })
		after(4*time.Second, true)
		expect("an answer that refuses replaces it", false)
		a.set(func(a *fakeApp) { a.down = true })
		after(8*time.Second-time.Millisecond, false)
		expect("down after a refusal: the answered refusal stands, not asked again for an event", false)
		after(time.Millisecond, true)
		attempts++
		expect("down after a refusal: an event after an unanswered validation has it asked again, a second later", false)

		if n := l.count("event handler validated"); n != 2 {
			t.Errorf("%d acceptances logged, want 2", n)
		}
		if n := l.count("event handler failed validation"); n != 2 {
			t.Errorf("%d refusals logged, want 2", n)
		}
	})
}

// TestStartValidates starts a client whose handler is down and comes up later: it is validated
// without any event, so that the first event after it is up goes through without waiting.
func TestStartValidates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeApp{allow: true, down: true}
		var l logs
		c := newFakeClient(t, a, &l, Options{})
		c.Start()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		// At 0, 1 and 3 s; the next at 7 s.
		if n, _ := a.validations(); n != 3 {
			t.Fatalf("%d validations while down, want 3", n)
		}
		a.set(func(a *fakeApp) { a.down = false })
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := l.count("event handler validated"); n != 1 {
			t.Fatalf("%d acceptances logged once the handler is up, want 1", n)
		}
		if _, err := c.UserEvent(context.Background(), &Conn{ConnectionID: "c"}, "e", "text/plain", nil); err != nil {
			t.Fatalf("the first event after the handler came up: %v", err)
		}
		if n, _ := a.validations(); n != 4 {
			t.Errorf("%d validations, want 4: the event waited for none", n)
		}
		c.Start() // once is enough
		synctest.Wait()
		if n, _ := a.validations(); n != 4 {
			t.Errorf("a second Start validated again")
		}
	})
}

func TestFirstValidationBlocksOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		a := &fakeApp{allow: true, block: release}
		c := newFakeClient(t, a, nil, Options{})
		results := make(chan error, 3)
		for i := range 3 {
			go func() {
				_, err := c.UserEvent(context.Background(), &Conn{ConnectionID: string(rune('a' + i))}, "e", "text/plain", nil)
				results <- err
			}()
		}
		synctest.Wait()
		if p, e := a.counts(); p != 1 || e != 0 || len(results) != 0 {
			t.Fatalf("while validating: %d validations, %d events, %d returned; want 1, 0, 0", p, e, len(results))
		}
		close(release)
		for range 3 {
			if err := <-results; err != nil {
				t.Error(err)
			}
		}
		if p, e := a.counts(); p != 1 || e != 3 {
			t.Errorf("%d validations, %d events; want 1, 3", p, e)
		}
	})
}

func TestTimeouts(t *testing.T) {
	hangingEvents := func() *fakeApp { return &fakeApp{allow: true, hangPost: true} }
	// The channel is made inside the bubble: only such channels count as durably blocking.
	hangingValidation := func() *fakeApp { return &fakeApp{allow: true, block: make(chan struct{})} }
	tests := []struct {
		name    string
		app     func() *fakeApp
		timeout time.Duration
		ctx     time.Duration // the caller's own deadline; 0 for none
		want    time.Duration
		wantErr error
	}{
		{name: "event handler hangs", app: hangingEvents, want: defaultTimeout, wantErr: context.DeadlineExceeded},
		{name: "option", app: hangingEvents, timeout: 5 * time.Second, want: 5 * time.Second, wantErr: context.DeadlineExceeded},
		{name: "caller deadline", app: hangingEvents, ctx: 2 * time.Second, want: 2 * time.Second, wantErr: context.DeadlineExceeded},
		{name: "validation hangs", app: hangingValidation, want: validationTimeout, wantErr: ErrNotValidated},
		{name: "waiting for validation", app: hangingValidation, ctx: time.Second, want: time.Second, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newFakeClient(t, tt.app(), nil, Options{Timeout: tt.timeout})
				ctx := context.Background()
				if tt.ctx > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.ctx)
					defer cancel()
				}
				start := time.Now()
				_, err := c.UserEvent(ctx, &Conn{ConnectionID: "c"}, "e", "text/plain", nil)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				if d := time.Since(start); d != tt.want {
					t.Errorf("failed after %v, want %v", d, tt.want)
				}
			})
		})
	}
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeApp{allow: true, block: make(chan struct{})}
		var l logs
		c := newFakeClient(t, a, &l, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			_, _ = c.UserEvent(ctx, &Conn{ConnectionID: "c"}, "e", "text/plain", nil)
		}()
		synctest.Wait()
		cancel()
		c.Close() // returns: the validation under way ends with it
		c.Close()
		if n := l.count(""); n != 0 {
			t.Errorf("logged %d messages while closing", n)
		}
		_, err := c.UserEvent(context.Background(), &Conn{ConnectionID: "c"}, "e", "text/plain", nil)
		if !errors.Is(err, ErrNotValidated) {
			t.Errorf("after Close: err = %v, want ErrNotValidated", err)
		}
		if p, _ := a.counts(); p != 1 {
			t.Errorf("%d validations, want 1", p)
		}

		unused := newFakeClient(t, a, nil, Options{})
		unused.Close()
		_, err = unused.UserEvent(context.Background(), &Conn{ConnectionID: "c"}, "e", "text/plain", nil)
		if !errors.Is(err, ErrNotValidated) {
			t.Errorf("never validated, closed: err = %v, want ErrNotValidated", err)
		}
		if p, _ := a.counts(); p != 1 {
			t.Errorf("a closed client validated")
		}
	})
}

// TestSharedValidation checks that handlers with one validation URL are validated once.
func TestSharedValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeApp{allow: true}
		c := newClient(t, []Handler{
			{URLTemplate: "http://app.test/{event}", UserEvents: "a"},
			{URLTemplate: "http://app.test/{Event}", UserEvents: "b"},
			{URLTemplate: "http://app.test/other/{event}", UserEvents: "c"},
		}, Options{HTTPClient: memClient(a.serve)})
		for _, e := range []string{"a", "b", "c"} {
			if _, err := c.UserEvent(context.Background(), &Conn{ConnectionID: "x"}, e, "text/plain", nil); err != nil {
				t.Fatal(err)
			}
		}
		if p, e := a.counts(); p != 2 || e != 3 {
			t.Errorf("%d validations, %d events; want 2, 3", p, e)
		}
	})
}

// An event that finds its handler refused has it validated again at once, so that an app that
// started after huddle serves its first client without waiting out the back-off; while the
// handler stays down, events are refused after one validation a second at most.
func TestRefusedHandlerValidatedAgainOnDemand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &fakeApp{allow: true, down: true}
		var l logs
		c := newFakeClient(t, a, &l, Options{})
		c.Start()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		// At 0, 1 and 3 s; the next would be at 7 s.
		if n, _ := a.validations(); n != 3 {
			t.Fatalf("%d validations while down, want 3", n)
		}
		event := func() error {
			_, err := c.UserEvent(context.Background(), &Conn{ConnectionID: "c"}, "e", "text/plain", nil)
			return err
		}
		start := time.Now()
		for range 2 {
			if err := event(); !errors.Is(err, ErrNotValidated) {
				t.Fatalf("an event while the handler is down: %v", err)
			}
		}
		if n, _ := a.validations(); n != 5 {
			t.Errorf("%d validations after two refused events, want 5: one each", n)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("the events waited %v, want 1s: validations on demand are a second apart", waited)
		}
		a.set(func(a *fakeApp) { a.down = false })
		time.Sleep(1500 * time.Millisecond)
		start = time.Now()
		if err := event(); err != nil {
			t.Fatalf("the first event after the handler came up: %v", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("the event waited %v for the back-off", waited)
		}
		if n := l.count("event handler failed validation; no events go to it until it passes"); n != 1 {
			t.Errorf("the refusal was logged %d times, want once", n)
		}
	})
}
