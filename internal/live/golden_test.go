package live

import (
	"flag"
	"testing"
	"testing/synctest"
	"time"

	"github.com/huddle-dev/huddle/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files of web/src/golden")

// A push as the scheduler encodes it is the golden file that the web UI's tests read
// (web/src/messages.test.ts): a series, an empty result and a failed query. The bubble's clock
// starts at a fixed instant, so the push's time and the samples' are the same at every run.
func TestPushGolden(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		aud := &audience{pushes: make(chan wirePush, 4)}
		aud.watch("ops")
		start(t, Options{Querier: openStore(t), Audience: aud, Plans: plans{"ops": {Refresh: time.Second, Version: 3, Key: "k1",
			Queries: []Query{
				{Panel: 1, RefID: "A", Expr: `temp{host="a"}`},
				{Panel: 2, RefID: "A", Expr: `sum(nonexistent_metric)`},
				{Panel: 3, RefID: "A", Expr: `sum(`},
			}}}})
		testkit.WebGolden(t, "points.json", next(t, aud).raw, *update)
	})
}
