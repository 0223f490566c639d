package alerts

import (
	"time"

	"github.com/prometheus/common/model"
)

// Provisioned are the groups stored on first start, editable like any other: the real-time
// service's connection alert, and host alerts on node_exporter's series (huddle's host
// collector writes them under the same names). Their expressions name no job, so that they hold
// whatever job name the host collector is given.
func Provisioned() []GroupSpec {
	sev := func(s int) *int { return &s }
	minutes := func(m int) model.Duration { return model.Duration(time.Duration(m) * time.Minute) }
	return []GroupSpec{
		{
			Name:     "huddle",
			Interval: minutes(1),
			Rules: []RuleSpec{{
				Alert:    "HubConnectionsHigh",
				Expr:     "huddle_connections > 1000",
				For:      minutes(5),
				Severity: sev(SevWarning),
				Annotations: map[string]string{
					"summary":     "{{ $value }} real-time connections on {{ $labels.instance }}",
					"description": "The real-time service has held more than 1,000 client connections for 5 minutes.",
				},
			}},
		},
		{
			Name:     "host",
			Interval: minutes(1),
			Rules: []RuleSpec{
				{
					Alert:    "HostHighCPU",
					Expr:     `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))) > 90`,
					For:      minutes(10),
					Severity: sev(SevWarning),
					Annotations: map[string]string{
						"summary": "CPU of {{ $labels.instance }} is {{ $value | printf \"%.0f\" }}% busy",
					},
				},
				{
					Alert:    "HostMemoryLow",
					Expr:     `node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100 < 10`,
					For:      minutes(5),
					Severity: sev(SevWarning),
					Annotations: map[string]string{
						"summary": "{{ $labels.instance }} has {{ $value | printf \"%.1f\" }}% of its memory available",
					},
				},
				{
					Alert: "HostDiskFillingUp",
					Expr: `node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs"} / node_filesystem_size_bytes * 100 < 15` +
						` and predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs"}[6h], 24 * 3600) < 0` +
						` and node_filesystem_readonly == 0`,
					For:      minutes(60),
					Severity: sev(SevWarning),
					Annotations: map[string]string{
						"summary": "{{ $labels.mountpoint }} on {{ $labels.instance }} will be full within a day ({{ $value | printf \"%.1f\" }}% left)",
					},
				},
				{
					Alert:    "HostDiskAlmostFull",
					Expr:     `node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs"} / node_filesystem_size_bytes * 100 < 5 and node_filesystem_readonly == 0`,
					For:      minutes(30),
					Severity: sev(SevError),
					Annotations: map[string]string{
						"summary": "{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | printf \"%.1f\" }}% left",
					},
				},
				{
					Alert:    "TargetDown",
					Expr:     `up == 0`,
					For:      minutes(5),
					Severity: sev(SevError),
					Annotations: map[string]string{
						"summary": "{{ $labels.job }} target {{ $labels.instance }} is down",
					},
				},
			},
		},
	}
}
