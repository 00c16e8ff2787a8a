package alertmanager_test

import (
	"testing"

	"github.com/prometheus/alertmanager/matcher/parse"
	"github.com/prometheus/common/model"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/incident"
)

// FuzzFilter feeds the alert filter arbitrary input: it must never panic,
// fail exactly when Alertmanager's parser fails (with an error to show),
// and select exactly the alerts Alertmanager's matchers select.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`severity="critical",namespace=~"prod.*"`, `{alertname="HostDown"}`, `a!="b"`, `a!~"x|y"`,
		`namespace=~"(prod"`, `severity=`, `{a="b"`, `"quoted name"="v"`, `a=b,c=~d.*`, ``, `,`, `a="\"\\"`,
	} {
		f.Add(s)
	}
	sets := []model.LabelSet{
		{"alertname": "AppHighErrorRate", "severity": "critical", "namespace": "prod", "deployment": "api"},
		{"alertname": "HostDown", "severity": "critical", "droplet": "web-02", "instance": "127.0.1.2:9100"},
		{"alertname": "AppHighLatency", "severity": "warning", "namespace": "preprod", "a": "b", "c": "d.e"},
		{},
	}
	f.Fuzz(func(t *testing.T, input string) {
		ms, err := alertmanager.ParseMatchers(input)
		want, wantErr := parse.Matchers(input)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: error %v, Alertmanager's parser says %v", input, err, wantErr)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error message", input)
			}
			return
		}
		for _, ls := range sets {
			m := make(map[string]string, len(ls))
			for k, v := range ls {
				m[string(k)] = string(v)
			}
			if got := incident.MatchAll(ms, m); got != want.Matches(ls) {
				t.Fatalf("%q on %v: vigil says %v, Alertmanager %v", input, ls, got, want.Matches(ls))
			}
		}
	})
}
