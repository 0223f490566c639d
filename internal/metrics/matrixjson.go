package metrics

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/prometheus/prometheus/promql"
)

// floatMatrix is a matrix without histogram points, written as JSON in the
// very bytes encoding/json writes for a promql.Matrix (promql.Series's
// struct tags, labels.Labels.MarshalJSON, promql.FPoint.MarshalJSON) but
// without a reflective walk and a json.Marshal call per point: a 6 h answer
// of 1,000 series at a 15 s step took seconds that way, ten times its
// evaluation (BENCHMARKS.md).
type floatMatrix promql.Matrix

// asJSON is the value the API writes for m: m itself when it holds a
// histogram point.
func asJSON(m promql.Matrix) any {
	for _, s := range m {
		if len(s.Histograms) > 0 {
			return m
		}
	}
	return floatMatrix(m)
}

func (m floatMatrix) MarshalJSON() ([]byte, error) {
	points := 0
	for _, s := range m {
		points += len(s.Floats)
	}
	// About 30 bytes a point: "[1796403283.5,\"1.5\"],"
	b := make([]byte, 0, 2+100*len(m)+32*points)
	b = append(b, '[')
	for i, s := range m {
		if i > 0 {
			b = append(b, ',')
		}
		metric, err := json.Marshal(s.Metric)
		if err != nil {
			return nil, fmt.Errorf("encode labels %s: %w", s.Metric, err)
		}
		b = append(b, `{"metric":`...)
		b = append(b, metric...)
		if len(s.Floats) > 0 {
			b = append(b, `,"values":[`...)
			for j, p := range s.Floats {
				if j > 0 {
					b = append(b, ',')
				}
				// encoding/json writes a float64 as strconv's 'f' format
				// unless its magnitude is below 1e-6 or from 1e21 up, which
				// no millisecond timestamp divided by 1000 is but 0, which
				// 'f' writes as encoding/json does.
				b = append(b, '[')
				b = strconv.AppendFloat(b, float64(p.T)/1000, 'f', -1, 64)
				// The value's 'f' format (digits, '-', '.', NaN, +Inf, -Inf)
				// needs no escaping inside a JSON string.
				b = append(b, ',', '"')
				b = strconv.AppendFloat(b, p.F, 'f', -1, 64)
				b = append(b, '"', ']')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}
