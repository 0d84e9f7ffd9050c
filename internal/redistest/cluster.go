package redistest

import (
	"strings"
	"testing"
	"time"
)

// clusterTimeout bounds the wait for a new cluster to agree on its slots.
const clusterTimeout = 20 * time.Second

// StartCluster starts three cluster-enabled masters (no replicas), joins
// them with redis-cli --cluster create, and waits until every node reports
// cluster_state:ok. It returns the nodes; their Addr values are the seed
// addresses for a cluster client.
func StartCluster(t testing.TB) []*Server {
	t.Helper()
	Require(t)
	nodes := make([]*Server, 3)
	addrs := make([]string, len(nodes))
	for i := range nodes {
		nodes[i] = startNew(t, true, func(port int, dir string) (*Server, error) {
			return standalone(port, dir,
				"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "5000"), nil
		})
		addrs[i] = nodes[i].Addr
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	nodes[0].MustCLI(append(args, "--cluster-replicas", "0", "--cluster-yes")...)
	for _, n := range nodes {
		waitClusterOK(t, n)
	}
	return nodes
}

func waitClusterOK(t testing.TB, n *Server) {
	t.Helper()
	end := time.Now().Add(clusterTimeout)
	var info string
	for time.Now().Before(end) {
		info, _ = n.CLI("CLUSTER", "INFO")
		if strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384") {
			return
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	t.Fatalf("cluster node %s not ok after %v:\n%s", n.Addr, clusterTimeout, info)
}

// Addrs returns the addresses of nodes.
func Addrs(nodes []*Server) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr
	}
	return out
}
