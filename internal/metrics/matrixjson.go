package metrics

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// floatMatrix is a matrix without histogram points, written as JSON
// (appendJSON) in the very bytes encoding/json writes for a promql.Matrix
// (promql.Series's struct tags, labels.Labels.MarshalJSON,
// promql.FPoint.MarshalJSON) but without a reflective walk and a
// json.Marshal call per point: a 6 h answer of 1,000 series at a 15 s step
// took seconds that way, ten times its evaluation (BENCHMARKS.md).
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

// encodeMatrix returns r as json.Encoder writes it, newline included, when
// its data is a floatMatrix (ok), with the matrix's bytes appended directly:
// a MarshalJSON result passes through encoding/json's check and copy, which
// took as long as writing the bytes.
func (r response) encodeMatrix() (b []byte, ok bool, err error) {
	data, ok := r.Data.(queryData)
	if !ok {
		return nil, false, nil
	}
	m, ok := data.Result.(floatMatrix)
	if !ok || r.ErrorType != "" || r.Error != "" {
		return nil, false, nil
	}
	type resultType struct {
		ResultType parser.ValueType `json:"resultType"`
	}
	head, err := json.Marshal(struct {
		Status string     `json:"status"`
		Data   resultType `json:"data"`
	}{r.Status, resultType{data.ResultType}})
	if err != nil {
		return nil, true, fmt.Errorf("encode answer: %w", err)
	}
	notes, err := json.Marshal(struct {
		Warnings []string `json:"warnings,omitempty"`
		Infos    []string `json:"infos,omitempty"`
	}{r.Warnings, r.Infos})
	if err != nil {
		return nil, true, fmt.Errorf("encode answer: %w", err)
	}
	// head is {"status":…,"data":{"resultType":…}}: the result goes before
	// its last two braces, and the notes' fields, if any, before the last.
	b = append(b, head[:len(head)-2]...)
	b = append(b, `,"result":`...)
	if b, err = m.appendJSON(b); err != nil {
		return nil, true, err
	}
	b = append(b, '}')
	if len(notes) > 2 {
		b = append(b, ',')
		b = append(b, notes[1:len(notes)-1]...)
	}
	return append(b, '}', '\n'), true, nil
}

func (m floatMatrix) appendJSON(b []byte) ([]byte, error) {
	points := 0
	for _, s := range m {
		points += len(s.Floats)
	}
	// Up to about 40 bytes a point: [1796403283.5,"0.26666666666666666"],
	b = slices.Grow(b, 2+100*len(m)+40*points)
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
