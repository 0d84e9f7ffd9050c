package gate

import (
	"strings"
	"testing"
	"time"
)

const wrkOK = `Running 5s test @ http://127.0.0.1:25949/mcp
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.21ms    6.02ms  98.11ms   88.12%
    Req/Sec     2.35k   412.10     3.31k    71.00%
  Latency Distribution
     50%  812.00us
     75%    8.41ms
     90%   12.97ms
     99%    1.02s
  23456 requests in 5.01s, 4.12MB read
Requests/sec:   4681.93
Transfer/sec:    842.11KB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOK)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 4681.93 || r.P50 != 812*time.Microsecond || r.P99 != 1020*time.Millisecond || r.Requests != 23456 {
		t.Errorf("parsed %+v", r)
	}
	if why := r.failure(); why != "" {
		t.Errorf("a clean run fails: %s", why)
	}
}

func TestParseWrkFailures(t *testing.T) {
	for name, extra := range map[string]string{
		"non-2xx":   "  Non-2xx or 3xx responses: 23456\n",
		"non-2xx 0": "  Non-2xx or 3xx responses: 0\n",
		"socket":    "  Socket errors: connect 0, read 3, write 0, timeout 12\n",
	} {
		out := strings.Replace(wrkOK, "Requests/sec:", extra+"Requests/sec:", 1)
		r, err := parseWrk(out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.failure() == "" {
			t.Errorf("%s: the run is not reported as failed", name)
		}
	}
	if _, err := parseWrk(strings.Replace(wrkOK, "Latency Distribution", "", 1)[:200]); err == nil {
		t.Error("a truncated report parses")
	}
}

func TestMedianAndFormat(t *testing.T) {
	if m := median([]float64{5, 1, 3}); m != 3 {
		t.Errorf("median odd = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	if s := fmtInt(1234567.4); s != "1,234,567" {
		t.Errorf("fmtInt = %s", s)
	}
	if s := wrkDuration(1500 * time.Millisecond); s != "1500ms" {
		t.Errorf("wrkDuration = %s", s)
	}
}
