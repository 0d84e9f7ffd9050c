package benchkit

import "testing"

const commandStats = `# Commandstats
cmdstat_ping:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0
cmdstat_info:calls=3,usec=300,usec_per_call=100.00,rejected_calls=0,failed_calls=0
cmdstat_evalsha:calls=1000,usec=9000,usec_per_call=9.00,rejected_calls=0,failed_calls=0
cmdstat_get:calls=500,usec=500,usec_per_call=1.00,rejected_calls=0,failed_calls=0
`

func TestCommandStats(t *testing.T) {
	before, err := parseCommandStats(commandStats)
	if err != nil {
		t.Fatal(err)
	}
	after := CommandStats{"ping": 14, "info": 4, "evalsha": 3000, "get": 1500, "set": 5}
	d := after.Sub(before)
	if d.Total() != 2+2000+1000+5 || d["info"] != 0 {
		t.Fatalf("diff %v", d)
	}
	if got := d.String(); got != "EVALSHA 2000, GET 1000, SET 5, PING 2" {
		t.Errorf("String() = %q", got)
	}
	if got := d.PerReq(1000); got != "EVALSHA 2.00, GET 1.00, SET 0.01, PING 0.00" {
		t.Errorf("PerReq() = %q", got)
	}
	if _, err := parseCommandStats("# Commandstats\n"); err == nil {
		t.Error("no error for an empty INFO")
	}
}

func TestParseMonitorLine(t *testing.T) {
	m, ok := parseMonitorLine(`1732687777.123456 [0 127.0.0.1:54321] "evalsha" "abc" "2" "mcpoauth:{g}:x" "a \"q\" b"`)
	if !ok || m.Lua || m.Cmd != "EVALSHA" || len(m.Args) != 4 || m.Args[3] != `a \"q\" b` {
		t.Errorf("client line: %+v %v", m, ok)
	}
	m, ok = parseMonitorLine(`1732687777.123500 [0 lua] "GET" "mcpoauth:{g}:x"`)
	if !ok || !m.Lua || m.Cmd != "GET" || len(m.Args) != 1 {
		t.Errorf("lua line: %+v %v", m, ok)
	}
	if _, ok := parseMonitorLine("OK"); ok {
		t.Error("OK parsed as a command")
	}
}
