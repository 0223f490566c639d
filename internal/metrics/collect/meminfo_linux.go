//go:build linux

package collect

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// meminfoPath is read for the /proc/meminfo fields node_exporter leaves
// out: since its meminfo collector reads procfs's typed Meminfo
// (prometheus/node_exporter#3049), fields procfs has no Bytes field for or
// that the collector does not map, such as KReclaimable, SecPageTables and
// Hugetlb, are missing, while node_exporter 1.5 (Debian's
// prometheus-node-exporter) exposes every field.
const meminfoPath = "/proc/meminfo"

// meminfoFamilies returns a node_memory_* gauge for every /proc/meminfo
// field that has no family in have, named as node_exporter 1.5 names them
// all: "(" and ")" become "_" and nothing, and a field in kB is in bytes
// with the suffix _bytes (Active(anon) is node_memory_Active_anon_bytes,
// HugePages_Total node_memory_HugePages_Total).
func meminfoFamilies(data []byte, have map[string]bool) ([]*dto.MetricFamily, error) {
	var families []*dto.MetricFamily
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) < 2 || len(parts) > 3 || !strings.HasSuffix(parts[0], ":") {
			return nil, fmt.Errorf("%s: malformed line %q", meminfoPath, sc.Text())
		}
		v, err := strconv.ParseFloat(parts[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value of %q: %w", meminfoPath, sc.Text(), err)
		}
		field := strings.NewReplacer("(", "_", ")", "").Replace(strings.TrimSuffix(parts[0], ":"))
		if len(parts) == 3 {
			if parts[2] != "kB" {
				return nil, fmt.Errorf("%s: unit of %q is not kB", meminfoPath, sc.Text())
			}
			v *= 1024
			field += "_bytes"
		}
		name := "node_memory_" + field
		if have[name] {
			continue
		}
		families = append(families, &dto.MetricFamily{
			Name:   proto.String(name),
			Help:   proto.String("Memory information field " + field + "."),
			Type:   dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(v)}}},
		})
	}
	return families, sc.Err()
}

// readMeminfo reads the fields of this host's /proc/meminfo missing from
// have.
func readMeminfo(have map[string]bool) ([]*dto.MetricFamily, error) {
	data, err := os.ReadFile(meminfoPath)
	if err != nil {
		return nil, err
	}
	return meminfoFamilies(data, have)
}
