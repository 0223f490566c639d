package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/huddle-dev/huddle/internal/alerts"
	"github.com/huddle-dev/huddle/internal/alerts/notify"
	"github.com/huddle-dev/huddle/internal/collab"
	"github.com/huddle-dev/huddle/internal/dashboard"
	"github.com/huddle-dev/huddle/internal/httpapi"
	"github.com/huddle-dev/huddle/internal/pubsub"
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
	logger := a.logger.With("component", "alerts")
	incidents := alerts.NewIncidents(a.sql, dashHub, collab.AlertsGroup, nil, logger)
	a.notify, err = notify.New(ctx, notify.Options{Store: a.sql, Hub: anyHub{a.pubsub}, Logger: logger,
		Registerer: a.registry, ExternalURL: a.publicURL, OnDelivery: deliveryTimeline(incidents, logger)})
	if err != nil {
		return nil, fmt.Errorf("alert notifications: %w", err)
	}
	// Its contact points' workers run from now on: stopped with the rest if start-up fails. Run
	// stops it again, earlier, before the hub (Stop may be called twice).
	a.parts.onStop("notify workers", a.notify.Stop)
	opts := alerts.Options{Querier: a.metrics.source, Incidents: incidents, ExternalURL: a.publicURL,
		Registerer: a.registry, Logger: a.logger.With("component", "rules"),
		Annotator: incidentAnnotations{a.dashboards, logger},
		Notify:    toNotifications(a.notify, a.publicURL)}
	if a.metrics.tsdb != nil {
		opts.Storage = a.metrics.tsdb
	}
	a.rules = alerts.NewEngine(opts, rulesDB)
	if err := a.rules.Load(ctx, files); err != nil {
		return nil, err
	}
	return append((&alerts.API{Engine: a.rules, Incidents: incidents}).Routes(), a.notify.Routes()...), nil
}

// toNotifications hands the rule engine's alerts to the notification dispatcher, each linked to
// its incident's page.
func toNotifications(d *notify.Dispatcher, publicURL string) func(context.Context, []alerts.Notification) {
	return func(_ context.Context, ns []alerts.Notification) {
		out := make([]notify.Alert, 0, len(ns))
		for _, n := range ns {
			a := notify.Alert{Fingerprint: n.Fingerprint, Labels: n.Alert.Labels.Map(),
				Annotations: n.Alert.Annotations.Map(), Severity: n.Severity, StartsAt: n.Alert.ActiveAt,
				EndsAt: n.Alert.ResolvedAt, IncidentID: n.IncidentID, GeneratorURL: publicURL + "/alerts"}
			if n.IncidentID != "" {
				a.GeneratorURL += "/" + n.IncidentID
			}
			out = append(out, a)
		}
		d.Notify(out...)
	}
}

// deliveryTimeline puts each delivery of an incident's alert on its timeline, so that people see
// who was told and whether it worked.
func deliveryTimeline(incidents *alerts.Incidents, logger *slog.Logger) func(notify.Delivery) {
	return func(d notify.Delivery) {
		if d.IncidentID == "" || d.Test {
			return
		}
		text := cmp.Or(d.ContactPointName, d.ContactPointID)
		if d.Kind != "" {
			text += " (" + d.Kind + ")"
		}
		text += ": " + d.Status
		if d.Error != "" {
			text += ": " + d.Error
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := incidents.Notified(ctx, d.IncidentID, httpapi.Truncate(text, alerts.MaxCommentLength), d.At); err != nil {
			logger.Warn("could not put a delivery on an incident's timeline", "incident", d.IncidentID, "err", err)
		}
	}
}

// anyHub sends the notification contact points' messages to a group of any hub, as an app
// server's REST call would.
type anyHub struct{ svc *pubsub.Service }

func (h anyHub) SendToGroup(ctx context.Context, hub, group string, data []byte) error {
	return sendJSONToGroup(ctx, h.svc.Hub(hub), group, data)
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
