package podlogs

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Lines invents what an app's container prints. It is deterministic for a
// seed, so tests can tell what to expect.
type Lines struct {
	App string
	Tag string
	rnd *rand.Rand
}

// NewLines returns the lines of app at image tag, drawn from seed.
func NewLines(app, tag string, seed uint64) *Lines {
	return &Lines{App: app, Tag: tag, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Boot is what the container prints as it starts.
func (l *Lines) Boot() []string {
	return []string{
		fmt.Sprintf("level=info msg=\"starting %s\" version=%s", l.App, l.Tag),
		fmt.Sprintf("level=info msg=\"loading configuration\" file=/etc/shop/%s.yaml", l.App),
		"level=info msg=\"listening\" addr=:8080",
	}
}

// CrashMarker is in the first line of every crash, for tests to look for.
const CrashMarker = "panic: config: required key database.url is missing"

// Crash is what the container prints as it dies, before a restart: a
// panic, its stack, and the exit.
func (l *Lines) Crash() []string {
	return []string{
		fmt.Sprintf("level=info msg=\"starting %s\" version=%s", l.App, l.Tag),
		fmt.Sprintf("level=info msg=\"loading configuration\" file=/etc/shop/%s.yaml", l.App),
		CrashMarker,
		"",
		"goroutine 1 [running]:",
		"main.mustLoadConfig({0xc000014090, 0x15})",
		fmt.Sprintf("\t/src/shop/%s/config.go:57 +0x1c5", l.App),
		"main.main()",
		fmt.Sprintf("\t/src/shop/%s/main.go:23 +0x4f", l.App),
		"exit status 1",
	}
}

var paths = map[string][]string{
	"api":    {"/api/orders", "/api/orders/%d", "/api/cart/%d", "/api/users/%d", "/api/catalog"},
	"web":    {"/", "/products/%d", "/cart", "/static/app.%d.js", "/checkout"},
	"worker": {"/jobs/emails/%d", "/jobs/invoices/%d", "/healthz"},
	"db":     {"/query/orders/%d", "/query/users/%d", "/healthz"},
}

var methods = []string{"GET", "GET", "GET", "GET", "POST", "PUT"}

// AccessMarker is in every access line.
const AccessMarker = "HTTP/1.1\" "

// ErrorMarker is in every error line.
const ErrorMarker = "level=error"

// Request is what the container prints for one request: one access line,
// and for a failed one an error line with a stack-like message before it.
func (l *Lines) Request(failed bool) []string {
	ps := paths[l.App]
	if ps == nil {
		ps = paths["api"]
	}
	p := ps[l.rnd.IntN(len(ps))]
	if strings.Contains(p, "%d") {
		p = fmt.Sprintf(p, 1000+l.rnd.IntN(9000))
	}
	method := methods[l.rnd.IntN(len(methods))]
	client := fmt.Sprintf("10.0.%d.%d", l.rnd.IntN(4), 2+l.rnd.IntN(250))
	ms := 5 + l.rnd.IntN(60)
	if !failed {
		return []string{fmt.Sprintf("%s - - \"%s %s HTTP/1.1\" 200 %d %dms", client, method, p, 200+l.rnd.IntN(4000), ms)}
	}
	return []string{
		fmt.Sprintf("%s msg=\"handler failed\" method=%s path=%s status=500 err=\"runtime error: invalid memory address or nil pointer dereference\"", ErrorMarker, method, p),
		fmt.Sprintf("\tat shop/%s/store.(*Orders).Get(0x0, {0xc0001a2000, 0x24}) store.go:88", l.App),
		fmt.Sprintf("\tat shop/%s/http.(*Handler).ServeHTTP(0xc000132000, {0x9b8a40, 0xc0002c4000}) handler.go:41", l.App),
		fmt.Sprintf("%s - - \"%s %s HTTP/1.1\" 500 %d %dms", client, method, p, 52, ms),
	}
}

// CRI formats lines as a container runtime writes them to a pod's log file
// (the format the kubelet, and kwok, read): time, stream, F for a full
// line, then the text.
func CRI(b []byte, at time.Time, stream string, text string) []byte {
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, " F "...)
	b = append(b, text...)
	return append(b, '\n')
}
