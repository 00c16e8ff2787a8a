package prometheus

import "testing"

func TestThreshold(t *testing.T) {
	cases := []struct {
		expr, lhs, op string
		n             float64
		ok            bool
	}{
		{`sum by (namespace, deployment) (rate(lab_http_errors_total[1m])) / sum by (namespace, deployment) (rate(lab_http_requests_total[1m])) > 0.05`,
			`sum by (namespace, deployment) (rate(lab_http_errors_total[1m])) / sum by (namespace, deployment) (rate(lab_http_requests_total[1m]))`, ">", 0.05, true},
		{`up{job="droplets"} == 0`, `up{job="droplets"}`, "==", 0, true},
		{`histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) >= 1.5e-1`, `histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))`, ">=", 0.15, true},
		{`node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1`, `node_filesystem_avail_bytes / node_filesystem_size_bytes`, "<", 0.1, true},
		{`x != -1`, `x`, "!=", -1, true},
		{`x{a=~"b>1"} <= 3`, `x{a=~"b>1"}`, "<=", 3, true},
		{`a > 1 and b > 2`, "", "", 0, false},
		{`rate(x[5m]) > bool 0.5`, "", "", 0, false},
		{`x > on(instance) y`, "", "", 0, false},
		{`absent(up{job="x"})`, "", "", 0, false},
		{`max(x > 1)`, "", "", 0, false},
		{`x{a="unterminated} > 1`, "", "", 0, false},
		{`> 1`, "", "", 0, false},
		{`band > 1`, "band", ">", 1, true},
	}
	for _, c := range cases {
		lhs, op, n, ok := Threshold(c.expr)
		if lhs != c.lhs || op != c.op || n != c.n || ok != c.ok {
			t.Errorf("Threshold(%q) = %q, %q, %v, %v; want %q, %q, %v, %v", c.expr, lhs, op, n, ok, c.lhs, c.op, c.n, c.ok)
		}
	}
}
