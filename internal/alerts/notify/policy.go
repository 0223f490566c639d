package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// Duration is a duration as Prometheus writes them ("30s", "5m", "4h", "1d"); empty is unset.
type Duration string

// get parses d; its error names field.
func (d Duration) get(field string) (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := model.ParseDuration(string(d))
	if err != nil {
		return 0, httpapi.Invalid(field, "%s: %q is not a duration such as 30s, 5m or 4h", field, httpapi.Truncate(string(d), 32))
	}
	return time.Duration(v), nil
}

func durationOf(t time.Duration) Duration { return Duration(model.Duration(t).String()) }

// The default policy's timing when it sets none: Alertmanager's defaults.
const (
	defaultGroupWait      = 30 * time.Second
	defaultGroupInterval  = 5 * time.Minute
	defaultRepeatInterval = 4 * time.Hour
	maxRoutes             = 200
	maxMatchers           = 32
)

// Policy is the notification policies: Routes in order, each alert taken by the first that
// matches (and by those after it while the matching ones say Continue), and the default policy,
// its own fields, for alerts no route takes. A route's empty fields are the default's.
type Policy struct {
	ContactPoint   string    `json:"contactPoint"`
	GroupBy        []string  `json:"groupBy"`
	GroupWait      Duration  `json:"groupWait"`
	GroupInterval  Duration  `json:"groupInterval"`
	RepeatInterval Duration  `json:"repeatInterval"`
	Routes         []Route   `json:"routes"`
	UpdatedAt      time.Time `json:"updatedAt"`
	UpdatedBy      string    `json:"updatedBy"`
}

// Route is one notification policy.
type Route struct {
	// Matchers are Alertmanager matchers, each as one string (`severity=~"0|1"`, `team="db"`);
	// all must match. The alert's severity is matched as the label "severity".
	Matchers     []string `json:"matchers"`
	ContactPoint string   `json:"contactPoint"`
	// GroupBy names the labels whose values make a group; ["..."] groups by every label.
	GroupBy        []string `json:"groupBy,omitempty"`
	GroupWait      Duration `json:"groupWait,omitempty"`
	GroupInterval  Duration `json:"groupInterval,omitempty"`
	RepeatInterval Duration `json:"repeatInterval,omitempty"`
	// Continue lets the routes after this one take a matching alert too.
	Continue bool `json:"continue,omitempty"`
}

// route is a Route ready to match, its fields resolved against the default policy.
type route struct {
	// id names the route's content, so groups of an unchanged route survive a policy update.
	id            string
	matchers      labels.Matchers
	contactPoint  string
	groupBy       []string
	groupAll      bool
	wait          time.Duration
	interval      time.Duration
	repeat        time.Duration
	continueAfter bool
}

// compiled is a Policy ready to route alerts.
type compiled struct {
	routes []*route
	def    *route
}

// match returns the routes that take an alert with labels ls.
func (c *compiled) match(ls model.LabelSet) []*route {
	var out []*route
	for _, r := range c.routes {
		if !r.matchers.Matches(ls) {
			continue
		}
		out = append(out, r)
		if !r.continueAfter {
			break
		}
	}
	if len(out) == 0 && c.def != nil {
		out = append(out, c.def)
	}
	return out
}

// compile validates p against the contact points that exist and resolves its routes.
func (p *Policy) compile(exists func(id string) bool) (*compiled, error) {
	if len(p.Routes) > maxRoutes {
		return nil, httpapi.Invalid("routes", "at most %d routes", maxRoutes)
	}
	if p.GroupWait == "" {
		p.GroupWait = durationOf(defaultGroupWait)
	}
	if p.GroupInterval == "" {
		p.GroupInterval = durationOf(defaultGroupInterval)
	}
	if p.RepeatInterval == "" {
		p.RepeatInterval = durationOf(defaultRepeatInterval)
	}
	def, err := newRoute("", Route{ContactPoint: p.ContactPoint, GroupBy: p.GroupBy, GroupWait: p.GroupWait,
		GroupInterval: p.GroupInterval, RepeatInterval: p.RepeatInterval}, nil, exists)
	if err != nil {
		return nil, err
	}
	c := &compiled{def: def}
	seen := map[string]int{}
	for i, rt := range p.Routes {
		r, err := newRoute(fmt.Sprintf("routes[%d].", i), rt, def, exists)
		if err != nil {
			return nil, err
		}
		// Two equal routes keep distinct groups.
		seen[r.id]++
		r.id = fmt.Sprintf("%s/%d", r.id, seen[r.id])
		c.routes = append(c.routes, r)
	}
	return c, nil
}

func newRoute(field string, rt Route, def *route, exists func(string) bool) (*route, error) {
	r := &route{contactPoint: rt.ContactPoint, continueAfter: rt.Continue}
	if def == nil && len(rt.Matchers) > 0 {
		return nil, httpapi.Invalid("matchers", "the default policy takes every alert: it has no matchers")
	}
	if def != nil && len(rt.Matchers) > maxMatchers {
		return nil, httpapi.Invalid(field+"matchers", "at most %d matchers", maxMatchers)
	}
	for j, s := range rt.Matchers {
		ms, err := labels.ParseMatchers(s)
		if err != nil || len(ms) != 1 {
			return nil, httpapi.Invalid(fmt.Sprintf("%smatchers[%d]", field, j), "matcher %q: %s", httpapi.Truncate(s, 128),
				matcherError(err))
		}
		r.matchers = append(r.matchers, ms[0])
	}
	switch {
	case rt.ContactPoint == "" && def != nil:
		r.contactPoint = def.contactPoint
	case rt.ContactPoint == "":
		return nil, httpapi.Invalid("contactPoint", "the default policy needs a contact point")
	case !exists(rt.ContactPoint):
		return nil, httpapi.Invalid(field+"contactPoint", "no contact point %q", httpapi.Truncate(rt.ContactPoint, 64))
	}
	groupBy := rt.GroupBy
	if groupBy == nil && def != nil {
		r.groupBy, r.groupAll = def.groupBy, def.groupAll
	} else {
		for _, l := range groupBy {
			if l == "..." {
				if len(groupBy) != 1 {
					return nil, httpapi.Invalid(field+"groupBy", `"..." (every label) stands alone in groupBy`)
				}
				r.groupAll = true
				continue
			}
			if !model.UTF8Validation.IsValidLabelName(l) { // Prometheus 3 and Alertmanager take UTF-8 names
				return nil, httpapi.Invalid(field+"groupBy", "%q is not a label name", httpapi.Truncate(l, 64))
			}
			r.groupBy = append(r.groupBy, l)
		}
		slices.Sort(r.groupBy)
		r.groupBy = slices.Compact(r.groupBy)
	}
	var err error
	if r.wait, err = rt.GroupWait.get(field + "groupWait"); err != nil {
		return nil, err
	}
	if r.interval, err = rt.GroupInterval.get(field + "groupInterval"); err != nil {
		return nil, err
	}
	if r.repeat, err = rt.RepeatInterval.get(field + "repeatInterval"); err != nil {
		return nil, err
	}
	if def != nil {
		r.wait = or(r.wait, def.wait)
		r.interval = or(r.interval, def.interval)
		r.repeat = or(r.repeat, def.repeat)
	}
	if r.wait < 0 || r.interval <= 0 || r.repeat <= 0 {
		return nil, httpapi.Invalid(field+"groupInterval", "groupWait is not negative; groupInterval and repeatInterval are positive")
	}
	if r.repeat < r.interval {
		return nil, httpapi.Invalid(field+"repeatInterval", "repeatInterval is at least groupInterval")
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%t %q %v %v %v %v %v %v", field == "", r.contactPoint, r.matchers, r.groupBy,
		r.groupAll, r.wait, r.interval, r.repeat))
	r.id = hex.EncodeToString(sum[:8])
	if r.continueAfter {
		r.id += "+"
	}
	return r, nil
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func matcherError(err error) string {
	if err == nil {
		return "one matcher per string"
	}
	return err.Error()
}

// groupLabels returns the labels of ls that make the group under r, and the group's key.
func (r *route) groupLabels(ls map[string]string) (map[string]string, string) {
	out := map[string]string{}
	if r.groupAll {
		for k, v := range ls {
			out[k] = v
		}
	} else {
		for _, l := range r.groupBy {
			if v, ok := ls[l]; ok {
				out[l] = v
			}
		}
	}
	names := make([]string, 0, len(out))
	for k := range out {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(r.id)
	b.WriteByte(':')
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%q,", k, out[k])
	}
	return out, b.String()
}

// Silence mutes the alerts its matchers all match from StartsAt until EndsAt.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	// State is pending, active or expired, when answered.
	State string `json:"state,omitempty"`

	matchers labels.Matchers
}

// compile checks s's matchers and keeps them parsed.
func (s *Silence) compile() error {
	if len(s.Matchers) == 0 || len(s.Matchers) > maxMatchers {
		return httpapi.Invalid("matchers", "a silence has one to %d matchers", maxMatchers)
	}
	s.matchers = nil
	for j, m := range s.Matchers {
		ms, err := labels.ParseMatchers(m)
		if err != nil || len(ms) != 1 {
			return httpapi.Invalid(fmt.Sprintf("matchers[%d]", j), "matcher %q: %s", httpapi.Truncate(m, 128), matcherError(err))
		}
		s.matchers = append(s.matchers, ms[0])
	}
	return nil
}

// state names where now is in s's time range.
func (s *Silence) state(now time.Time) string {
	switch {
	case now.Before(s.StartsAt):
		return "pending"
	case now.Before(s.EndsAt):
		return "active"
	}
	return "expired"
}

func toLabelSet(m map[string]string) model.LabelSet {
	ls := make(model.LabelSet, len(m))
	for k, v := range m {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}
