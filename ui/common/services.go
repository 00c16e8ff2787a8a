package common

import (
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ops/network"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/refresh"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ops/workload"
)

// Services are the ops services of the process, built once from the config
// and shared by every session (the console's, or each SSH session's in
// vigil serve). A nil field is an integration that is not configured: its
// pane does not exist.
type Services struct {
	Release   *release.Service
	Incident  *incident.Service
	Inventory *inventory.Service
	Playbook  *playbook.Service
	// Refresh is the data refresh (config data), set with Inventory and
	// Playbook.
	Refresh *refresh.Service
	// Workload and Logs read one workload of Release's clusters, through
	// the same client, on demand: a detail's describe and events, a
	// logs view's follow. Both are set when Release is.
	Workload *workload.Service
	Logs     *logs.Service
	// Monitoring reads Prometheus's targets and rules; set when Prometheus
	// is configured.
	Monitoring *monitoring.Service
	// Rules defines alerting rules in the files vigil owns: set when
	// Prometheus and prometheus.rule_files are configured.
	Rules *rules.Service
	// Network is the firewalls, load balancers, DNS, VPCs and reserved
	// IPs of Inventory's account; set when Inventory is.
	Network *network.Service
}
