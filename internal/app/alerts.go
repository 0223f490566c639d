package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/huddle-dev/huddle/internal/alerts"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/dashboard"
	"github.com/huddle-dev/huddle/internal/httpapi"
)

// buildAlerts makes the rule engine over the metrics source: the groups of the rule files and
// those in SQL (the default groups stored on first start), incidents announced on the
// dashboards' hub, so that every open page hears of them. Rule output (recording rules, ALERTS)
// goes to the embedded store; with a remote source there is none.
func (a *App) buildAlerts(ctx context.Context, dashHub dashboardHub) ([]httpapi.Route, error) {
	files, err := alerts.LoadFiles(a.cfg.Metrics.RuleFiles)
	if err != nil {
		return nil, fmt.Errorf("metrics.ruleFiles: %w", err)
	}
	rulesDB := alerts.NewRuleStore(a.sql)
	stored, err := rulesDB.Provision(ctx, alerts.Provisioned(), time.Now())
	if err != nil {
		return nil, err
	}
	if len(stored) > 0 {
		a.logger.Info("alert rules provisioned", "groups", stored)
	}
	incidents := alerts.NewIncidents(a.sql, dashHub, collab.AlertsGroup, nil, a.logger.With("component", "alerts"))
	opts := alerts.Options{Querier: a.metrics.source, Incidents: incidents, ExternalURL: a.publicURL,
		Registerer: a.registry, Logger: a.logger.With("component", "rules"),
		Annotator: incidentAnnotations{a.dashboards, a.logger.With("component", "alerts")}}
	if a.metrics.tsdb != nil {
		opts.Storage = a.metrics.tsdb
	}
	a.rules = alerts.NewEngine(opts, rulesDB)
	if err := a.rules.Load(ctx, files); err != nil {
		return nil, err
	}
	return (&alerts.API{Engine: a.rules, Incidents: incidents}).Routes(), nil
}

// incidentAnnotations puts the rule engine's marks on dashboards as annotations by huddle itself,
// which reach their viewers as any annotation does.
type incidentAnnotations struct {
	dashboards *dashboard.Service
	logger     *slog.Logger
}

// alertAuthor is who the automatic annotations are by: no account has an empty user id.
var alertAuthor = dashboard.Author{UserID: "", Login: "huddle"}

func (a incidentAnnotations) AnnotateMetrics(ctx context.Context, metrics []string, at time.Time, text string, tags []string) {
	uids, err := a.dashboards.UsingMetrics(ctx, metrics)
	if err != nil {
		a.logger.Warn("could not find the dashboards an alert concerns", "err", err)
		return
	}
	for _, uid := range uids {
		_, err := a.dashboards.CreateAnnotation(ctx, alertAuthor, uid, dashboard.AnnotationInput{Time: at.UnixMilli(), Tags: tags,
			Text: httpapi.Truncate(text, dashboard.MaxAnnotationText/2)})
		if err != nil {
			a.logger.Warn("could not annotate a dashboard with an alert", "dashboard", uid, "err", err)
		}
	}
}
