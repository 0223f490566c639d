package dashboard

import (
	"context"
	"database/sql"
	"fmt"
)

// ThisHostUID is the uid of the dashboard provisioned on first start.
const ThisHostUID = "this-host"

// Provision creates the "This host" dashboard the first time huddle starts on a database, and
// never again: a user's edits are never overwritten, and a deleted dashboard stays deleted. A
// marker row in the same transaction remembers that it was done, so nodes of a cluster starting
// together provision it once.
func (s *Service) Provision(ctx context.Context) error {
	d := ThisHost()
	if err := d.normalize(); err != nil {
		return fmt.Errorf("provision %s: %w", d.UID, err)
	}
	d.Version = 1
	now := s.now().UnixMilli()
	created := false
	err := s.store.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO provisioning (name, done_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`),
			"dashboard:"+d.UID, now)
		if err != nil {
			return fmt.Errorf("provision %s: %w", d.UID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("provision %s: %w", d.UID, err)
		} else if n == 0 {
			return nil // provisioned before
		}
		model, tags, err := encode(d)
		if err != nil {
			return err
		}
		// DO NOTHING keeps a dashboard someone created with this uid before the marker existed.
		res, err = tx.ExecContext(ctx, s.q(`INSERT INTO dashboards (uid, title, tags, model, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING`), d.UID, d.Title, tags, model, d.Version, now, now)
		if err != nil {
			return fmt.Errorf("provision %s: %w", d.UID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("provision %s: %w", d.UID, err)
		}
		created = n == 1
		return nil
	})
	if err != nil {
		return fmt.Errorf("provision dashboard %s: %w", d.UID, err)
	}
	if created {
		s.logger.Info("dashboard provisioned", "dashboard", d.UID, "title", d.Title)
	}
	return nil
}

// ThisHost is the model of the "This host" dashboard: the machine huddle runs on, in the
// node_exporter metric names of huddle's host collector, and huddle's own connections and
// messages (job "huddle").
func ThisHost() Dashboard {
	f := func(v float64) *float64 { return &v }
	traffic := []Threshold{{Color: "green"}, {Value: f(75), Color: "orange"}, {Value: f(90), Color: "red"}}
	const (
		cpuBusy  = `100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m])))`
		memUsed  = `node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes`
		rootUsed = `100 * (1 - node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"})`
		fsUsed   = `100 * (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)`
	)
	return Dashboard{
		UID:     ThisHostUID,
		Title:   "This host",
		Tags:    []string{"host", "huddle"},
		Time:    TimeRange{From: "now-1h", To: "now"},
		Refresh: "10s",
		Panels: []Panel{
			{ID: 1, Type: PanelStat, Title: "CPU busy", GridPos: GridPos{X: 0, Y: 0, W: 6, H: 4}, Unit: "percent",
				Decimals: new(int), Thresholds: traffic, Targets: []Target{{RefID: "A", Expr: cpuBusy, Instant: true}}},
			{ID: 2, Type: PanelStat, Title: "Memory used", GridPos: GridPos{X: 6, Y: 0, W: 6, H: 4}, Unit: "bytes",
				Targets: []Target{{RefID: "A", Expr: memUsed, Instant: true}}},
			{ID: 3, Type: PanelGauge, Title: "Root disk used", GridPos: GridPos{X: 12, Y: 0, W: 6, H: 4}, Unit: "percent",
				Min: f(0), Max: f(100), Thresholds: traffic, Targets: []Target{{RefID: "A", Expr: rootUsed, Instant: true}}},
			{ID: 4, Type: PanelStat, Title: "Huddle connections", GridPos: GridPos{X: 18, Y: 0, W: 6, H: 4}, Unit: "short",
				Targets: []Target{{RefID: "A", Expr: `sum(huddle_connections{job="huddle"})`, Instant: true}}},
			{ID: 5, Type: PanelTimeSeries, Title: "CPU", GridPos: GridPos{X: 0, Y: 4, W: 12, H: 8}, Unit: "percent", Min: f(0),
				Targets: []Target{
					{RefID: "A", Expr: cpuBusy, LegendFormat: "busy"},
					{RefID: "B", Expr: `100 * avg by (mode) (rate(node_cpu_seconds_total{mode!="idle"}[1m]))`, LegendFormat: "{{mode}}"},
				}},
			{ID: 6, Type: PanelTimeSeries, Title: "Memory", GridPos: GridPos{X: 12, Y: 4, W: 12, H: 8}, Unit: "bytes", Min: f(0),
				Targets: []Target{
					{RefID: "A", Expr: memUsed, LegendFormat: "used"},
					{RefID: "B", Expr: `node_memory_MemTotal_bytes`, LegendFormat: "total"},
				}},
			{ID: 7, Type: PanelTimeSeries, Title: "Load average", GridPos: GridPos{X: 0, Y: 12, W: 12, H: 8}, Unit: "short", Min: f(0),
				Targets: []Target{
					{RefID: "A", Expr: `node_load1`, LegendFormat: "1m"},
					{RefID: "B", Expr: `node_load5`, LegendFormat: "5m"},
					{RefID: "C", Expr: `node_load15`, LegendFormat: "15m"},
				}},
			{ID: 8, Type: PanelTimeSeries, Title: "Network", GridPos: GridPos{X: 12, Y: 12, W: 12, H: 8}, Unit: "Bps",
				Targets: []Target{
					{RefID: "A", Expr: `rate(node_network_receive_bytes_total{device!="lo"}[1m])`, LegendFormat: "{{device}} received"},
					{RefID: "B", Expr: `rate(node_network_transmit_bytes_total{device!="lo"}[1m])`, LegendFormat: "{{device}} sent"},
				}},
			{ID: 9, Type: PanelTimeSeries, Title: "Disk I/O", GridPos: GridPos{X: 0, Y: 20, W: 12, H: 8}, Unit: "Bps",
				Targets: []Target{
					{RefID: "A", Expr: `rate(node_disk_read_bytes_total[1m])`, LegendFormat: "{{device}} read"},
					{RefID: "B", Expr: `rate(node_disk_written_bytes_total[1m])`, LegendFormat: "{{device}} written"},
				}},
			{ID: 10, Type: PanelTimeSeries, Title: "Huddle messages", GridPos: GridPos{X: 12, Y: 20, W: 12, H: 8}, Unit: "short",
				Description: "Messages per second received from clients and delivered to them.",
				Targets: []Target{
					{RefID: "A", Expr: `sum(rate(huddle_messages_received_total{job="huddle"}[1m]))`, LegendFormat: "received"},
					{RefID: "B", Expr: `sum(rate(huddle_messages_delivered_total{job="huddle"}[1m]))`, LegendFormat: "delivered"},
				}},
			{ID: 11, Type: PanelTable, Title: "Filesystems", GridPos: GridPos{X: 0, Y: 28, W: 12, H: 8}, Unit: "percent",
				Thresholds: traffic,
				Targets: []Target{
					{RefID: "A", Expr: fsUsed, LegendFormat: "{{mountpoint}}", Instant: true},
				}},
			{ID: 12, Type: PanelBarGauge, Title: "Filesystem use", GridPos: GridPos{X: 12, Y: 28, W: 12, H: 8}, Unit: "percent",
				Min: f(0), Max: f(100), Thresholds: traffic,
				Targets: []Target{
					{RefID: "A", Expr: fsUsed, LegendFormat: "{{mountpoint}}", Instant: true},
				}},
		},
	}
}
