package metrics

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestFloatMatrixJSON requires floatMatrix to append what encoding/json
// writes for the same promql.Matrix, on the values whose formatting is
// least obvious.
func TestFloatMatrixJSON(t *testing.T) {
	fp := func(t int64, f float64) promql.FPoint { return promql.FPoint{T: t, F: f} }
	tests := []struct {
		name string
		m    promql.Matrix
	}{
		{"empty", promql.Matrix{}},
		{"values", promql.Matrix{
			{Metric: labels.FromStrings("__name__", "up", "job", "api"), Floats: []promql.FPoint{
				fp(1796403283000, 1), fp(1796403283500, 0.1), fp(1796403283123, -2.5e-7), fp(1796403284000, 1e21),
				fp(1796403285000, 123456789012345678), fp(1796403286000, math.Copysign(0, -1)),
				fp(1796403287000, math.NaN()), fp(1796403288000, math.Inf(1)), fp(1796403289000, math.Inf(-1)),
				fp(1796403290000, math.SmallestNonzeroFloat64), fp(1796403291000, math.MaxFloat64),
			}},
		}},
		{"timestamps", promql.Matrix{
			{Metric: labels.FromStrings("a", "b"), Floats: []promql.FPoint{
				fp(0, 1), fp(1, 1), fp(-1, 1), fp(-62135596800000, 1), fp(253402300799999, 1), fp(math.MaxInt64/1000, 1),
			}},
		}},
		{"labels that need escaping", promql.Matrix{
			{Metric: labels.FromStrings("__name__", "x", "path", `/a?b=<c>&d="e"`, "u", "\u2028\x01é\\"), Floats: []promql.FPoint{fp(1000, 2)}},
			{Metric: labels.EmptyLabels(), Floats: []promql.FPoint{fp(1000, 3)}},
		}},
		{"a series without points", promql.Matrix{{Metric: labels.FromStrings("a", "b")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := floatMatrix(tc.m).appendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
	t.Run("histograms are left to encoding/json", func(t *testing.T) {
		m := promql.Matrix{{Metric: labels.FromStrings("a", "b"), Histograms: []promql.HPoint{{T: 1000, H: &histogram.FloatHistogram{Count: 1, Sum: 2}}}}}
		if _, ok := asJSON(m).(promql.Matrix); !ok {
			t.Fatal("a matrix with histogram points was not kept as it is")
		}
	})
}

// TestEncodeMatrix requires a float matrix's answer to be the bytes
// json.Encoder writes for the same envelope, with and without notes.
func TestEncodeMatrix(t *testing.T) {
	m := promql.Matrix{
		{Metric: labels.FromStrings("__name__", "up", "job", "<api>"), Floats: []promql.FPoint{{T: 1000, F: 1}, {T: 1500, F: math.NaN()}}},
		{Metric: labels.FromStrings("__name__", "up", "job", "db")},
	}
	for _, notes := range []struct{ warnings, infos []string }{
		{},
		{warnings: []string{`PromQL warning: "a" & <b>`}},
		{infos: []string{"PromQL info: c"}},
		{warnings: []string{"w1", "w2"}, infos: []string{"i"}},
	} {
		for _, v := range []promql.Matrix{m, {}} {
			resp := response{Status: "success", Data: queryData{ResultType: v.Type(), Result: asJSON(v)}, Warnings: notes.warnings, Infos: notes.infos}
			got, ok, err := resp.encodeMatrix()
			if !ok || err != nil {
				t.Fatalf("not encoded: %v", err)
			}
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(response{Status: "success", Data: queryData{ResultType: v.Type(), Result: v}, Warnings: notes.warnings, Infos: notes.infos}); err != nil {
				t.Fatal(err)
			}
			if string(got) != want.String() {
				t.Fatalf("got\n%s\nwant\n%s", got, want.String())
			}
		}
	}
	if _, ok, _ := (response{Status: "success", Data: queryData{ResultType: parser.ValueTypeVector, Result: promql.Vector{}}}).encodeMatrix(); ok {
		t.Fatal("a vector was encoded as a matrix")
	}
}
