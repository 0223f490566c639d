package pubsub

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddle-dev/huddle/internal/testkit"
)

// A client that does not read must not hold up the shared writers: its write is handed to a
// goroutine of its own, the others keep receiving, and when it reads again it gets every frame
// intact and in order, the one cut in the middle included.
func TestSlowReaderIsHandedOff(t *testing.T) {
	checkLeaks(t)
	svc := newTestService(t, Options{})
	h := svc.Hub("h")
	codec := newTestCodec(FormatWebPubSubJSON)

	slow, err := h.Connect(ConnOptions{ID: "slow", Codec: codec}, []string{"g"})
	if err != nil {
		t.Fatal(err)
	}
	// net.Pipe has no buffer: every write blocks until the other end reads, and honours
	// write deadlines, like a TCP socket whose window is shut.
	server, client := net.Pipe()
	defer client.Close()
	if err := slow.Attach(server); err != nil {
		t.Fatal(err)
	}
	fasts := make([]*testSocket, 2*svc.flusher.max)
	for i := range fasts {
		_, fasts[i] = connect(t, h, ConnOptions{ID: "fast" + string(rune('a'+i)), Codec: codec}, "g")
	}

	big := strings.Repeat("x", 10_000)
	send(t, h, Selector{Kind: ToGroup, Name: "g"}, groupMsg("g", big))
	for i := range 20 {
		send(t, h, Selector{Kind: ToGroup, Name: "g"}, groupMsg("g", string(rune('A'+i))))
	}
	want := []string{"text:g:" + big}
	for i := range 20 {
		want = append(want, "text:g:"+string(rune('A'+i)))
	}
	for _, s := range fasts {
		testkit.WaitFor(t, "fast readers to get everything", func() bool { return len(s.frames(t)) == len(want) })
		if !slices.Equal(s.frames(t), want) {
			t.Fatal("a fast reader's frames are out of order or damaged")
		}
	}

	// Now the slow client reads: all frames arrive whole and in order.
	got := make(chan []wsFrame, 1)
	go func() {
		var buf []byte
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		chunk := make([]byte, 32<<10)
		for {
			n, err := client.Read(chunk)
			buf = append(buf, chunk[:n]...)
			if fs, perr := parseFrames(buf); perr == nil && len(fs) == len(want) {
				got <- fs
				return
			}
			if err != nil {
				got <- nil
				return
			}
		}
	}()
	fs := <-got
	if fs == nil {
		t.Fatal("the slow reader did not get every frame")
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.String())
	}
	if !slices.Equal(names, want) {
		t.Fatal("slow reader frames out of order or damaged")
	}
}
