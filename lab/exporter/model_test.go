package exporter

import (
	"math"
	"testing"
)

func TestTag(t *testing.T) {
	tests := map[string]string{
		"registry.lab.local/shop/api:2.5.0":     "2.5.0",
		"registry.lab.local/shop/api:2.5.0-bad": "2.5.0-bad",
		"localhost:5000/shop/api":               "",
		"localhost:5000/shop/api:1.0":           "1.0",
		"api":                                   "",
		"api:3-slow@sha256:0123abcd":            "3-slow",
	}
	for image, want := range tests {
		if got := Tag(image); got != want {
			t.Errorf("Tag(%q) = %q, want %q", image, got, want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// share returns the share of answers at or under bound.
func share(p Profile, bound float64) float64 {
	for i, b := range Buckets {
		if b == bound {
			return p.BucketShare[i]
		}
	}
	panic("no bucket")
}

func TestProfileOf(t *testing.T) {
	tests := []struct {
		name      string
		desired   int32
		pods      []Pods
		rps       float64
		errors    float64
		under500  float64 // share of answers within 0.5s
		underHalf bool    // whether the 95th percentile stays under 0.5s
	}{
		{"good release", 3, []Pods{{3, "2.5.0"}}, 30, 0, 1, true},
		{"bad release", 3, []Pods{{3, "2.5.0-bad"}}, 30, 0.2, 1, true},
		{"bad release rolling out", 3, []Pods{{2, "2.4.1"}, {1, "2.5.0-bad"}}, 30, 0.2 / 3, 1, true},
		{"rolled back from bad", 3, []Pods{{3, "2.4.1"}, {0, "2.5.0-bad"}}, 30, 0, 1, true},
		{"nothing ready", 2, []Pods{{0, "1.0"}}, 20, 1, 1, true},
		{"scaled to zero", 0, nil, 0, 0, 0, true},
		{"slow release", 2, []Pods{{2, "1.9.0-slow"}}, 20, 0, 0.9, false},
		{"half the replicas ready", 4, []Pods{{2, "1.9.0"}}, 40, 0, 1, true},
		{"a tenth ready", 10, []Pods{{1, "1.9.0"}}, 100, 0, 0.9, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ProfileOf(tt.desired, tt.pods)
			if !near(p.RPS, tt.rps) || !near(p.ErrorRatio, tt.errors) {
				t.Errorf("rps %v errors %v, want %v and %v", p.RPS, p.ErrorRatio, tt.rps, tt.errors)
			}
			if got := share(p, 0.5); !near(got, tt.under500) {
				t.Errorf("share within 0.5s = %v, want %v", got, tt.under500)
			}
			if tt.desired > 0 && (share(p, 0.5) >= 0.95) != tt.underHalf {
				t.Errorf("p95 under 0.5s = %v, want %v", !tt.underHalf, tt.underHalf)
			}
			for i := 1; i < len(p.BucketShare); i++ {
				if p.BucketShare[i] < p.BucketShare[i-1] || p.BucketShare[i] > 1+1e-9 {
					t.Fatalf("bucket shares not cumulative: %v", p.BucketShare)
				}
			}
		})
	}
}

func TestOverloadSlowsAnswers(t *testing.T) {
	full := ProfileOf(4, []Pods{{4, "1.0"}})
	half := ProfileOf(4, []Pods{{2, "1.0"}})
	if !near(half.MeanLatency, 2*full.MeanLatency) {
		t.Fatalf("mean latency with half the replicas %v, want twice %v", half.MeanLatency, full.MeanLatency)
	}
}
