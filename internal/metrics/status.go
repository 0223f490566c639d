package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/index"
	"go.yaml.in/yaml/v3"

	"github.com/huddle-dev/huddle/internal/httpapi"
)

// This file serves the endpoints beside the queries that Grafana, promtool and other
// Prometheus clients call to find out what they talk to. Each answers in the shape of
// Prometheus's own (web/api/v1/api.go at the version in go.mod), so that clients decoding into
// Prometheus's types read every field.

// TSDB is the embedded store's side of the status endpoints; the [Store] implements it.
type TSDB interface {
	// Stats are the head's statistics, with the top limit label names, values and pairs by
	// cardinality, as Prometheus's TSDBAdminStats.Stats.
	Stats(statsByLabelName string, limit int) (*tsdb.Stats, error)
	// Flags are the store's settings, under the names of the Prometheus flags that set them.
	Flags() map[string]string
}

// engineVersion is the Prometheus release whose PromQL engine and API this server runs, the
// release of the github.com/prometheus/prometheus module in go.mod (tagged v0.MMmm.p for
// release MM.mm.p); a test holds the two together.
const engineVersion = "3.10.0"

// buildInfoData is Prometheus's PrometheusVersion.
type buildInfoData struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// buildInfo answers the version of the Prometheus engine that huddle runs. Grafana reads
// this endpoint to tell the server's kind: an answer without Mimir's "features" field is
// Prometheus (public/app/features/alerting/unified/api/buildInfo.ts,
// discoverDataSourceFeatures), and the version decides which API features it uses.
func buildInfo(*http.Request) (any, error) {
	d := buildInfoData{Version: engineVersion, GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return d, nil
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			d.Revision = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				d.BuildDate = t.UTC().Format("20060102-15:04:05") // Prometheus's format
			}
		}
	}
	return d, nil
}

// runtimeInfoData is Prometheus's RuntimeInfo.
type runtimeInfoData struct {
	StartTime           time.Time `json:"startTime"`
	CWD                 string    `json:"CWD"`
	Hostname            string    `json:"hostname"`
	ServerTime          time.Time `json:"serverTime"`
	ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	LastConfigTime      time.Time `json:"lastConfigTime"`
	CorruptionCount     int64     `json:"corruptionCount"`
	GoroutineCount      int       `json:"goroutineCount"`
	GOMAXPROCS          int       `json:"GOMAXPROCS"`
	GOMEMLIMIT          int64     `json:"GOMEMLIMIT"`
	GOGC                string    `json:"GOGC"`
	GODEBUG             string    `json:"GODEBUG"`
	StorageRetention    string    `json:"storageRetention"`
}

func (a *API) runtimeInfo(*http.Request) (any, error) {
	cwd, _ := os.Getwd()     // empty when unknown, as in Prometheus
	host, _ := os.Hostname() // likewise
	// The configuration is read once, at start.
	return runtimeInfoData{
		StartTime:           a.started,
		CWD:                 cwd,
		Hostname:            host,
		ServerTime:          a.now().UTC(),
		ReloadConfigSuccess: true,
		LastConfigTime:      a.started,
		GoroutineCount:      runtime.NumGoroutine(),
		GOMAXPROCS:          runtime.GOMAXPROCS(0),
		GOMEMLIMIT:          debug.SetMemoryLimit(-1),
		GOGC:                os.Getenv("GOGC"),
		GODEBUG:             os.Getenv("GODEBUG"),
		StorageRetention:    a.storeFlags()["storage.tsdb.retention.time"],
	}, nil
}

func (a *API) storeFlags() map[string]string {
	if a.opts.TSDB == nil {
		return map[string]string{}
	}
	return a.opts.TSDB.Flags()
}

func (a *API) flags(*http.Request) (any, error) { return a.storeFlags(), nil }

// config answers the scrape jobs as the scrape_configs of a Prometheus configuration file:
// huddle's own configuration has other names and its secrets, which this endpoint must not show.
func (a *API) config(*http.Request) (any, error) {
	type staticConfig struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels,omitempty"`
	}
	type scrapeConfig struct {
		JobName        string         `yaml:"job_name"`
		ScrapeInterval string         `yaml:"scrape_interval"`
		ScrapeTimeout  string         `yaml:"scrape_timeout"`
		MetricsPath    string         `yaml:"metrics_path"`
		Scheme         string         `yaml:"scheme"`
		StaticConfigs  []staticConfig `yaml:"static_configs"`
	}
	var cfg struct {
		ScrapeConfigs []*scrapeConfig `yaml:"scrape_configs,omitempty"`
	}
	jobs := make(map[string]*scrapeConfig)
	for _, t := range a.listTargets() {
		if t.URL == "" {
			continue // collected in the process: no scrape configuration
		}
		j, ok := jobs[t.Job]
		if !ok {
			scheme, rest, _ := strings.Cut(t.URL, "://")
			_, path, _ := strings.Cut(rest, "/")
			j = &scrapeConfig{JobName: t.Job, ScrapeInterval: model.Duration(t.Interval).String(),
				ScrapeTimeout: model.Duration(t.Timeout).String(), MetricsPath: "/" + path, Scheme: scheme}
			jobs[t.Job] = j
			cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, j)
		}
		extra := make(map[string]string)
		t.Labels.Range(func(l labels.Label) {
			if l.Name != model.JobLabel && l.Name != model.InstanceLabel {
				extra[l.Name] = l.Value
			}
		})
		j.StaticConfigs = append(j.StaticConfigs, staticConfig{Targets: []string{t.Labels.Get(model.InstanceLabel)}, Labels: extra})
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Err: fmt.Errorf("render the scrape configuration: %w", err)}
	}
	return map[string]string{"yaml": string(out)}, nil
}

func (a *API) listTargets() []Target {
	if a.opts.Targets == nil {
		return nil
	}
	return a.opts.Targets.Targets()
}

// targetData is Prometheus's Target; droppedTargets stay empty, since huddle drops none.
type targetData struct {
	DiscoveredLabels   labels.Labels `json:"discoveredLabels"`
	Labels             labels.Labels `json:"labels"`
	ScrapePool         string        `json:"scrapePool"`
	ScrapeURL          string        `json:"scrapeUrl"`
	GlobalURL          string        `json:"globalUrl"`
	LastError          string        `json:"lastError"`
	LastScrape         time.Time     `json:"lastScrape"`
	LastScrapeDuration float64       `json:"lastScrapeDuration"`
	Health             string        `json:"health"`
	ScrapeInterval     string        `json:"scrapeInterval"`
	ScrapeTimeout      string        `json:"scrapeTimeout"`
}

type targetDiscovery struct {
	ActiveTargets       []targetData   `json:"activeTargets"`
	DroppedTargets      []struct{}     `json:"droppedTargets"`
	DroppedTargetCounts map[string]int `json:"droppedTargetCounts"`
}

// targets lists the collection targets, filtered by scrapePool and state as Prometheus's
// targets endpoint is. A target's discovered labels are its labels: huddle relabels nothing.
func (a *API) targets(r *http.Request) (any, error) {
	pool := r.URL.Query().Get("scrapePool")
	state := strings.ToLower(r.URL.Query().Get("state"))
	res := targetDiscovery{ActiveTargets: []targetData{}, DroppedTargets: []struct{}{}}
	if state == "" || state == "any" || state == "dropped" {
		res.DroppedTargetCounts = map[string]int{}
	}
	if state != "" && state != "any" && state != "active" {
		return res, nil
	}
	for _, t := range a.listTargets() {
		if pool != "" && t.Job != pool {
			continue
		}
		health := "unknown"
		switch {
		case t.LastCollection.IsZero():
		case t.LastError != "":
			health = "down"
		default:
			health = "up"
		}
		d := targetData{DiscoveredLabels: t.Labels, Labels: t.Labels, ScrapePool: t.Job, ScrapeURL: t.URL, GlobalURL: t.URL,
			LastError: t.LastError, LastScrape: t.LastCollection, LastScrapeDuration: t.LastDuration.Seconds(), Health: health,
			ScrapeInterval: model.Duration(t.Interval).String()}
		if t.Timeout > 0 {
			d.ScrapeTimeout = model.Duration(t.Timeout).String()
		}
		res.ActiveTargets = append(res.ActiveTargets, d)
	}
	return res, nil
}

// tsdbStat and tsdbStatus are Prometheus's TSDBStat and TSDBStatus.
type tsdbStat struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

type tsdbStatus struct {
	HeadStats struct {
		NumSeries     uint64 `json:"numSeries"`
		NumLabelPairs int    `json:"numLabelPairs"`
		ChunkCount    int64  `json:"chunkCount"`
		MinTime       int64  `json:"minTime"`
		MaxTime       int64  `json:"maxTime"`
	} `json:"headStats"`
	SeriesCountByMetricName     []tsdbStat `json:"seriesCountByMetricName"`
	LabelValueCountByLabelName  []tsdbStat `json:"labelValueCountByLabelName"`
	MemoryInBytesByLabelName    []tsdbStat `json:"memoryInBytesByLabelName"`
	SeriesCountByLabelValuePair []tsdbStat `json:"seriesCountByLabelValuePair"`
}

func tsdbStats(stats []index.Stat) []tsdbStat {
	out := make([]tsdbStat, 0, len(stats))
	for _, s := range stats {
		out = append(out, tsdbStat{Name: s.Name, Value: s.Count})
	}
	return out
}

const maxTSDBLimit = 10000 // Prometheus's bound on the tsdb endpoint's limit

func (a *API) tsdbStatus(r *http.Request) (any, error) {
	limit := 10
	if s := r.FormValue("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			return nil, badData("limit must be a positive number")
		}
		if limit > maxTSDBLimit {
			return nil, badData("limit must not exceed %d", maxTSDBLimit)
		}
	}
	if a.opts.TSDB == nil {
		return nil, &Error{Kind: KindNotFound, Err: errors.New("the metrics source is a remote server: ask it for its TSDB status")}
	}
	s, err := a.opts.TSDB.Stats(model.MetricNameLabel, limit)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Err: fmt.Errorf("tsdb stats: %w", err)}
	}
	var res tsdbStatus
	res.HeadStats.NumSeries, res.HeadStats.MinTime, res.HeadStats.MaxTime = s.NumSeries, s.MinTime, s.MaxTime
	res.HeadStats.ChunkCount = a.headChunks()
	res.HeadStats.NumLabelPairs = s.IndexPostingStats.NumLabelPairs
	res.SeriesCountByMetricName = tsdbStats(s.IndexPostingStats.CardinalityMetricsStats)
	res.LabelValueCountByLabelName = tsdbStats(s.IndexPostingStats.CardinalityLabelStats)
	res.MemoryInBytesByLabelName = tsdbStats(s.IndexPostingStats.LabelValueStats)
	res.SeriesCountByLabelValuePair = tsdbStats(s.IndexPostingStats.LabelValuePairsStats)
	return res, nil
}

// headChunks reads the TSDB's prometheus_tsdb_head_chunks gauge, as Prometheus does; 0 when it
// cannot be read.
func (a *API) headChunks() int64 {
	if a.opts.Gatherer == nil {
		return 0
	}
	mfs, err := a.opts.Gatherer.Gather()
	if err != nil {
		a.logger.Warn("gather the head chunk count", "err", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "prometheus_tsdb_head_chunks" && len(mf.GetMetric()) > 0 {
			return int64(mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	return 0
}

// queryExemplars checks its parameters as Prometheus does and answers no exemplars, since the
// store keeps none: [], or no content at all for a query without a selector, as Prometheus.
func (a *API) queryExemplars(r *http.Request) (any, error) {
	start, end, err := rangeParams(r)
	if err != nil {
		return nil, err
	}
	if end.Before(start) {
		return nil, badData("end timestamp must not be before start timestamp")
	}
	expr, err := parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return nil, &Error{Kind: KindBadData, Err: err}
	}
	if len(parser.ExtractSelectors(expr)) == 0 {
		return nil, nil
	}
	return []struct{}{}, nil
}

// formatQuery answers the query as Prometheus's formatter prints it.
func formatQuery(r *http.Request) (any, error) {
	expr, err := parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return nil, invalidParam("query", err)
	}
	return expr.Pretty(0), nil
}

// notFound answers a path under /api/v1/ that no endpoint serves. Prometheus answers those in
// plain text; clients of the API parse JSON, so this is its envelope with its not_found type.
func notFound(r *http.Request) (any, error) {
	return nil, &Error{Kind: KindNotFound, Err: fmt.Errorf("unknown API endpoint %s", httpapi.Truncate(r.URL.Path, 200))}
}

// healthy and ready are Prometheus's probes. Their text names huddle: Prometheus's names the
// application (Prometheus Server, Prometheus Agent), so clients go by the status alone.
func healthy(w http.ResponseWriter, _ *http.Request) error {
	_, _ = io.WriteString(w, "huddle is Healthy.\n")
	return nil
}

func (a *API) ready(w http.ResponseWriter, _ *http.Request) error {
	if a.opts.Ready != nil && !a.opts.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "Service Unavailable")
		return nil
	}
	_, _ = io.WriteString(w, "huddle is Ready.\n")
	return nil
}
