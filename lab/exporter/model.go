// Package exporter is the lab exporter: it watches the lab cluster's
// Deployments, ReplicaSets and StatefulSets and exposes application metrics
// derived from their real state, so that alerts fire and resolve for real.
//
// Every workload receives RequestsPerReplica requests per second for each
// desired replica. Ready replicas of an image whose tag contains "bad"
// answer BadErrorRatio of their share with errors; "slow" tags answer
// SlowLatency instead of BaseLatency; too few ready replicas slow every
// answer down, and none at all fail every request.
package exporter

import (
	"strings"
)

const (
	RequestsPerReplica = 10.0
	BadErrorRatio      = 0.2
	BaseLatency        = 0.04 // seconds, typical answer
	SlowLatency        = 0.4
	maxOverload        = 10.0 // latency factor when few replicas are ready
)

// Buckets are the latency histogram's upper bounds, in seconds.
var Buckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// spread is how answers scatter around a group's typical latency: each
// pair is (multiple of the typical latency, share of answers).
var spread = [...][2]float64{{0.5, 0.5}, {1, 0.4}, {2, 0.09}, {4, 0.01}}

// Pods are the ready replicas of a workload that run one image tag.
type Pods struct {
	Ready int32
	Tag   string
}

// Profile is the traffic a workload serves: requests per second, the share
// answered with errors, the mean latency and, per bucket of Buckets, the
// share of answers at or under its bound.
type Profile struct {
	RPS         float64
	ErrorRatio  float64
	MeanLatency float64
	BucketShare []float64
}

// Tag is the tag of an image reference ("" when it has none).
func Tag(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	i := strings.LastIndexByte(image, ':')
	if i < 0 || strings.ContainsRune(image[i:], '/') {
		return ""
	}
	return image[i+1:]
}

// ProfileOf derives the traffic of a workload with desired replicas from its
// ready pods.
func ProfileOf(desired int32, pods []Pods) Profile {
	p := Profile{BucketShare: make([]float64, len(Buckets))}
	if desired <= 0 {
		return p
	}
	p.RPS = RequestsPerReplica * float64(desired)
	var ready, bad float64
	for _, g := range pods {
		if g.Ready <= 0 {
			continue
		}
		ready += float64(g.Ready)
		if strings.Contains(g.Tag, "bad") {
			bad += float64(g.Ready)
		}
	}
	if ready == 0 {
		// Nothing answers: every request fails fast at the load balancer.
		p.ErrorRatio = 1
		p.MeanLatency = 0.001
		for i := range p.BucketShare {
			p.BucketShare[i] = 1
		}
		return p
	}
	p.ErrorRatio = BadErrorRatio * bad / ready
	overload := min(max(float64(desired)/ready, 1), maxOverload)
	for _, g := range pods {
		if g.Ready <= 0 {
			continue
		}
		share := float64(g.Ready) / ready
		typical := BaseLatency
		if strings.Contains(g.Tag, "slow") {
			typical = SlowLatency
		}
		typical *= overload
		for _, s := range spread {
			latency, part := s[0]*typical, s[1]*share
			p.MeanLatency += latency * part
			for i, bound := range Buckets {
				if latency <= bound {
					p.BucketShare[i] += part
				}
			}
		}
	}
	return p
}
