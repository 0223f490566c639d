package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// serverMemory reads the server's resident set and Go heap in use from its Prometheus
// /metrics. A metric the server does not export reads as zero.
func serverMemory(ctx context.Context, client *http.Client, baseURL string) (rss, heap float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	// Plain text: the protobuf exposition format would need a decoder for two numbers.
	req.Header.Set("Accept", "text/plain")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("read server metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("read server metrics: %s from %s/metrics", resp.Status, baseURL)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			rss, _ = strconv.ParseFloat(value, 64)
		case "go_memstats_heap_inuse_bytes":
			heap, _ = strconv.ParseFloat(value, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read server metrics: %w", err)
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("read server metrics: %s/metrics has no process_resident_memory_bytes", baseURL)
	}
	return rss, heap, nil
}
