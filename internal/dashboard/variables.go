package dashboard

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Substitution is done here only, as Grafana does it for a Prometheus datasource: history loads
// ask the server for a panel's expanded queries (GET /api/dashboards/{uid}/queries) and the live
// scheduler evaluates the same expansion ([Service.Expand]), so a panel's history and its live
// points are one series.

// AllValue is the selection of a variable's All option.
const AllValue = "$__all"

// scrapeInterval is the collection interval $__rate_interval assumes: huddle's collector's.
const scrapeInterval = 10 * time.Second

// variableRef matches Grafana's three syntaxes: $name, ${name} or ${name:format}, and the older
// [[name]] or [[name:format]] (grafana/grafana public/app/features/variables/utils.ts,
// variableRegex).
var variableRef = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]+))?\}|\[\[([A-Za-z_][A-Za-z0-9_]*)(?::([^\]]+))?\]\]`)

// refNames lists the variable names s refers to.
func refNames(s string) []string {
	var out []string
	for _, m := range variableRef.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2]+m[4])
	}
	return out
}

// binding is what a name stands for: a variable's values, formatted when substituted, or a
// text substituted as it is (a custom All value, a built-in).
type binding struct {
	values []string
	// regex formats the values as a regular expression inside a PromQL string (multi-value and
	// All variables); otherwise the one value is escaped for a PromQL string.
	regex bool
	// raw is substituted as it is, whatever the format asked.
	raw   string
	isRaw bool
}

// scope is what queries are expanded with: the variables resolved so far and the built-ins.
type scope map[string]binding

// expand substitutes every reference to a name of the scope in s; references to other names
// are left as written.
func (sc scope) expand(s string) string {
	return variableRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		b, ok := sc[m[1]+m[2]+m[4]]
		if !ok {
			return ref
		}
		return b.format(m[3] + m[5])
	})
}

// format writes b as Grafana's Prometheus datasource does when no format is named
// (interpolateQueryExpr in grafana/grafana public/app/plugins/datasource/prometheus/datasource.ts),
// or in the named format among raw, regex, pipe and csv (formatRegistry.ts in
// public/app/features/templating/); other formats are taken as no format.
func (b binding) format(name string) string {
	if b.isRaw {
		return b.raw
	}
	switch name {
	case "raw", "csv":
		return strings.Join(b.values, ",")
	case "pipe":
		return strings.Join(b.values, "|")
	case "regex":
		return alternation(b.values, regexp.QuoteMeta)
	}
	if !b.regex {
		if len(b.values) == 0 {
			return ""
		}
		return promStringEscape(b.values[0])
	}
	return alternation(b.values, promRegexEscape)
}

// alternation is one escaped value alone, or several as (a|b).
func alternation(values []string, escape func(string) string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = escape(v)
	}
	if len(out) == 1 {
		return out[0]
	}
	return "(" + strings.Join(out, "|") + ")"
}

// promStringEscape is Grafana's prometheusRegularEscape (classic behaviour): backslashes
// doubled and single quotes escaped, so the value reads back as itself in a PromQL string.
func promStringEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\\'`).Replace(s)
}

// promRegexMeta are the characters Grafana's prometheusSpecialRegexEscape escapes.
const promRegexMeta = `$^*{}[]+?.()|`

// promRegexEscape is Grafana's prometheusSpecialRegexEscape (classic behaviour): each regular
// expression metacharacter preceded by a backslash written as \\ (a PromQL string's escape of
// one), and a backslash written as four.
func promRegexEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\\\`)
		case strings.ContainsRune(promRegexMeta, r):
			b.WriteString(`\\`)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// builtins are Grafana's range-dependent variables for a query of the given step over a range
// of the given span (getRangeScopedVars and getRateIntervalScopedVariable in Grafana's
// Prometheus datasource): $__rate_interval is max($__interval + scrape interval, 4 × scrape
// interval).
func builtins(step, span time.Duration) scope {
	rangeS := int64((span + time.Second/2) / time.Second)
	raw := func(s string) binding { return binding{raw: s, isRaw: true} }
	return scope{
		"__interval":      raw(promDuration(step)),
		"__interval_ms":   raw(strconv.FormatInt(step.Milliseconds(), 10)),
		"__rate_interval": raw(promDuration(max(step+scrapeInterval, 4*scrapeInterval))),
		"__range":         raw(fmt.Sprintf("%ds", rangeS)),
		"__range_s":       raw(strconv.FormatInt(rangeS, 10)),
		"__range_ms":      raw(strconv.FormatInt(span.Milliseconds(), 10)),
	}
}

// RefreshInterval is how often the dashboard's panels update; 0 means never.
func (d *Dashboard) RefreshInterval() time.Duration {
	r, err := parseDuration(d.Refresh)
	if err != nil {
		return 0
	}
	return r
}

// promDuration writes d in the largest unit that divides it, as PromQL reads durations.
func promDuration(d time.Duration) string {
	for _, u := range []struct {
		unit string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if d >= u.size && d%u.size == 0 {
			return fmt.Sprintf("%d%s", d/u.size, u.unit)
		}
	}
	return fmt.Sprintf("%ds", (d+time.Second/2)/time.Second)
}
