package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// Series is where query variables find their options; metrics.Source satisfies it.
type Series interface {
	LabelNames(ctx context.Context, selectors []string, start, end time.Time) ([]string, error)
	LabelValues(ctx context.Context, name string, selectors []string, start, end time.Time) ([]string, error)
	Query(ctx context.Context, expr string, ts time.Time) (*promql.Result, error)
}

// The query forms of Grafana's Prometheus variables (grafana/grafana
// public/app/plugins/datasource/prometheus/metric_find_query.ts): the selector of label_values
// is greedy, so that it may hold commas.
var (
	labelNamesQuery  = regexp.MustCompile(`^label_names\(\)\s*$`)
	labelValuesQuery = regexp.MustCompile(`^label_values\((?:(.+),\s*)?([a-zA-Z_$][a-zA-Z0-9_]*)\)\s*$`)
	metricsQuery     = regexp.MustCompile(`^metrics\((.+)\)\s*$`)
	queryResultQuery = regexp.MustCompile(`^query_result\((.+)\)\s*$`)
)

// errNoSeries is a query variable's error on a server without a metrics source.
var errNoSeries = errors.New("no metrics source to find the options in")

// findOptions runs a query variable's query, already expanded, over start–end.
func findOptions(ctx context.Context, src Series, query string, start, end time.Time) ([]string, error) {
	if src == nil {
		return nil, errNoSeries
	}
	query = strings.TrimSpace(query)
	switch {
	case labelNamesQuery.MatchString(query):
		return src.LabelNames(ctx, nil, start, end)
	case labelValuesQuery.MatchString(query):
		m := labelValuesQuery.FindStringSubmatch(query)
		var selectors []string
		if m[1] != "" {
			selectors = []string{m[1]}
		}
		return src.LabelValues(ctx, m[2], selectors, start, end)
	case metricsQuery.MatchString(query):
		re, err := regexp.Compile(metricsQuery.FindStringSubmatch(query)[1])
		if err != nil {
			return nil, fmt.Errorf("metrics(): %w", err)
		}
		names, err := src.LabelValues(ctx, "__name__", nil, start, end)
		return slices.DeleteFunc(names, func(n string) bool { return !re.MatchString(n) }), err
	case queryResultQuery.MatchString(query):
		return queryResult(ctx, src, queryResultQuery.FindStringSubmatch(query)[1], end)
	}
	return nil, errors.New("use label_values(label), label_values(selector, label), label_names(), metrics(regex) or query_result(expr)")
}

// queryResult lists the samples of expr at ts as Grafana writes them: name{label="value",…}
// value timestamp-in-ms, or a scalar's value.
func queryResult(ctx context.Context, src Series, expr string, ts time.Time) ([]string, error) {
	res, err := src.Query(ctx, expr, ts)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return nil, fmt.Errorf("query_result(): %w", err)
	}
	switch v := res.Value.(type) {
	case promql.Scalar:
		return []string{strconv.FormatFloat(v.V, 'f', -1, 64)}, nil
	case promql.Vector:
		out := make([]string, len(v))
		for i, s := range v {
			var inner []string
			s.Metric.Range(func(l labels.Label) {
				if l.Name != "__name__" {
					inner = append(inner, l.Name+`="`+l.Value+`"`)
				}
			})
			out[i] = fmt.Sprintf("%s{%s} %s %d", s.Metric.Get("__name__"), strings.Join(inner, ","),
				strconv.FormatFloat(s.F, 'f', -1, 64), s.T)
		}
		return out, nil
	}
	return nil, fmt.Errorf("query_result(): a %s is not a list of options", res.Value.Type())
}

// optionRegex compiles a variable's regex as Grafana's stringToJsRegex reads it
// (grafana/grafana packages/grafana-data/src/text/string.ts): /pattern/flags, or a bare pattern
// that must match a whole value. Of the flags, i, m and s apply; g keeps every match. Nil for
// no regex.
func optionRegex(s string) (*optionFilter, error) {
	if s == "" {
		return nil, nil
	}
	pattern, global := "^"+s+"$", false
	if strings.HasPrefix(s, "/") {
		m := regexp.MustCompile(`^/(.*?)/([gimys]*)$`).FindStringSubmatch(s)
		if m == nil {
			return nil, fmt.Errorf("%q is not /pattern/flags", s)
		}
		pattern = m[1]
		var flags string
		for _, f := range m[2] {
			switch f {
			case 'g':
				global = true
			case 'i', 'm', 's':
				flags += string(f)
			}
		}
		if flags != "" {
			pattern = "(?" + flags + ")" + pattern
		}
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("not a regular expression huddle reads (RE2 syntax): %w", err)
	}
	return &optionFilter{re: re, global: global}, nil
}

type optionFilter struct {
	re     *regexp.Regexp
	global bool
}

// apply keeps the values f matches, as Grafana's metricNamesToVariableValues does
// (public/app/features/variables/query/reducer.ts): a value matched with groups becomes the
// text of the group named value, else text, else the first group, and with the g flag every
// match's first group becomes an option.
func (f *optionFilter) apply(values []string) []string {
	var out []string
	for _, v := range values {
		n := 1
		if f.global {
			n = -1
		}
		matches := f.re.FindAllStringSubmatch(v, n)
		if len(matches) == 0 {
			continue
		}
		if named := f.named(matches[0]); named != "" {
			out = append(out, named)
			continue
		}
		if f.re.NumSubexp() == 0 {
			out = append(out, v)
			continue
		}
		for _, m := range matches {
			out = append(out, m[1])
		}
	}
	return out
}

func (f *optionFilter) named(m []string) string {
	for _, name := range []string{"value", "text"} {
		if i := f.re.SubexpIndex(name); i > 0 && m[i] != "" {
			return m[i]
		}
	}
	return ""
}

// sortOptions orders options with Grafana's sort numbers (sortVariableValues in
// public/app/features/variables/query/reducer.ts): odd ascending, even the ascending order
// reversed; 1–2 by text, 3–4 by the first number in the text (-1 without one), 5–6 by lower-case
// text, 7–8 naturally (runs of digits compared as numbers).
func sortOptions(options []string, order int) {
	var less func(a, b string) int
	switch (order + 1) / 2 {
	case 1:
		less = strings.Compare
	case 2:
		less = func(a, b string) int { return cmp.Compare(firstNumber(a), firstNumber(b)) }
	case 3:
		less = func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }
	case 4:
		less = naturalCompare
	default:
		return
	}
	slices.SortStableFunc(options, less)
	if order%2 == 0 {
		slices.Reverse(options)
	}
}

var firstDigits = regexp.MustCompile(`\d+`)

func firstNumber(s string) int64 {
	d := firstDigits.FindString(s)
	if d == "" {
		return -1
	}
	n, err := strconv.ParseInt(d, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// naturalCompare compares runs of digits by their number and the rest ignoring case, as
// localeCompare with {numeric: true} orders node1, node2, node10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		ca, ra := chunk(a)
		cb, rb := chunk(b)
		if c := compareChunks(ca, cb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return cmp.Compare(len(a), len(b))
}

func chunk(s string) (string, string) {
	digit := unicode.IsDigit(rune(s[0]))
	i := 1
	for i < len(s) && unicode.IsDigit(rune(s[i])) == digit {
		i++
	}
	return s[:i], s[i:]
}

func compareChunks(a, b string) int {
	if unicode.IsDigit(rune(a[0])) && unicode.IsDigit(rune(b[0])) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// listOptions splits a custom or interval variable's comma-separated list.
func listOptions(query string) []string {
	var out []string
	for part := range strings.SplitSeq(query, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}
