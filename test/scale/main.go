// Command scale measures vigil (and, with K9S set, k9s) on a cluster
// loaded by `vigil-lab load --apps 500` (2,000 Deployments, 6,000 pods):
// issue 18's figures, printed as a table. `make bench-scale` runs it.
//
// Each run starts the console in a private tmux server at 200×60 and
// prints: start → the full matrix (vigil: the row of the last app filtered
// to, complete in every environment; k9s: `deployments(all)[N]` with N at
// least the apps × environments), RSS 5 s and 15 s after the start, idle
// CPU ticks over 10 s (utime+stime of /proc/PID/stat, 100 a second) on the
// Environments pane and on the welcome screen, `j` → the pane's first
// output (tmux control mode, random gaps) median/p95/p99, and enter → a
// workload's detail with its pods. Then `vigil status --json` beside
// `kubectl get deploy -A -o json`: wall time and peak RSS (wait4's rusage).
// The load average is printed with every run.
//
// The lab's env file (`cd lab && go run ./cmd/vigil-lab env --path`) is
// given with -env; vigil runs with the lab's Kubernetes section only (as
// k9s sees only the cluster) unless -full.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

type options struct {
	envFile    string
	vigil, k9s string
	runs, keys int
	apps, envs int
	full       bool
	last       string
	width      int
	height     int
}

func main() {
	var o options
	flag.StringVar(&o.envFile, "env", "", "the lab's env file (vigil-lab env --path)")
	flag.StringVar(&o.vigil, "vigil", "", "vigil binary (default: built from ./cmd/vigil)")
	flag.StringVar(&o.k9s, "k9s", os.Getenv("K9S"), "k9s binary to measure beside vigil ($K9S)")
	flag.IntVar(&o.runs, "runs", 3, "runs of each program, alternating")
	flag.IntVar(&o.keys, "keys", 200, "j presses per run")
	flag.IntVar(&o.apps, "apps", 500, "apps the lab was loaded with")
	flag.IntVar(&o.envs, "envs", 4, "environments")
	flag.StringVar(&o.last, "last", "", "the app whose row completes the matrix (default: the last load app, app-NNNN)")
	flag.BoolVar(&o.full, "full", false, "vigil with the lab's whole config (Prometheus, Alertmanager, DigitalOcean too)")
	flag.IntVar(&o.width, "width", 200, "pane width")
	flag.IntVar(&o.height, "height", 60, "pane height")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench-scale:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.envFile == "" {
		return fmt.Errorf("-env FILE is required: the lab's env file (cd lab && go run ./cmd/vigil-lab env --path)")
	}
	labEnv, err := readEnv(o.envFile)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "vigil-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.vigil == "" {
		o.vigil = filepath.Join(dir, "vigil")
		b := exec.Command("go", "build", "-o", o.vigil, "./cmd/vigil")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/vigil: %w", err)
		}
	}
	sb, err := newSandbox(filepath.Join(dir, "vigil-home"), labEnv["VIGIL_CONFIG"], o.full)
	if err != nil {
		return err
	}
	welcome, err := newSandbox(filepath.Join(dir, "welcome-home"), "", false)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	fmt.Printf("bench-scale on %s (%d CPUs), %s, %d×%d in tmux %d×%d; vigil %s\n",
		host, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02 15:04 MST"), o.apps, o.envs, o.width, o.height, o.vigil)
	last := o.last
	if last == "" {
		last = fmt.Sprintf("app-%04d", o.apps-1)
	}
	var vs, ks []console
	for i := range o.runs {
		c, err := measureVigil(o, sb, welcome, last)
		if err != nil {
			return fmt.Errorf("vigil run %d: %w", i+1, err)
		}
		c.print(fmt.Sprintf("vigil run %d", i+1))
		vs = append(vs, c)
		if o.k9s != "" {
			c, err := measureK9s(o, labEnv["KUBECONFIG"], filepath.Join(dir, "k9s-home"))
			if err != nil {
				return fmt.Errorf("k9s run %d: %w", i+1, err)
			}
			c.print(fmt.Sprintf("k9s run %d", i+1))
			ks = append(ks, c)
		}
	}
	summary("vigil", vs)
	if len(ks) > 0 {
		summary("k9s", ks)
	}
	return statusBesideKubectl(o, sb, labEnv["KUBECONFIG"])
}

// console is one run's figures.
type console struct {
	load          [2]string // load average at the run's start and end
	full          time.Duration
	rss5, rss15   float64
	idle, welcome int64 // ticks over 10 s
	keys          []time.Duration
	detail        time.Duration
}

func (c console) print(name string) {
	p50, p95, p99 := quantiles(c.keys)
	fmt.Printf("%-11s load %s→%s · full view %v · RSS %.0f/%.0f MB · idle %d ticks/10 s (welcome %s) · j p50/p95/p99 %s/%s/%s ms (%d) · detail %s\n",
		name, c.load[0], c.load[1], c.full.Round(10*time.Millisecond), c.rss5, c.rss15, c.idle, ticksOrDash(c.welcome),
		ms(p50), ms(p95), ms(p99), len(c.keys), durOrDash(c.detail))
}

func ticksOrDash(t int64) string {
	if t < 0 {
		return "–"
	}
	return strconv.FormatInt(t, 10)
}

func durOrDash(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return ms(d) + " ms"
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func quantiles(ds []time.Duration) (p50, p95, p99 time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return q(0.50), q(0.95), q(0.99)
}

// summary prints the medians of the runs' figures, and the runs' keys
// pooled.
func summary(name string, cs []console) {
	med := func(f func(console) float64) float64 {
		v := make([]float64, len(cs))
		for i, c := range cs {
			v[i] = f(c)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var keys []time.Duration
	var loads []string
	for _, c := range cs {
		keys = append(keys, c.keys...)
		loads = append(loads, c.load[0]+"→"+c.load[1])
	}
	p50, p95, p99 := quantiles(keys)
	fmt.Printf("%s, median of %d runs (load %s): full view %.2f s · RSS %.0f/%.0f MB · idle %.0f ticks/10 s, welcome %.0f · j p50/p95/p99 %s/%s/%s ms over %d · detail %.1f ms\n",
		name, len(cs), strings.Join(loads, ", "),
		med(func(c console) float64 { return c.full.Seconds() }),
		med(func(c console) float64 { return c.rss5 }), med(func(c console) float64 { return c.rss15 }),
		med(func(c console) float64 { return float64(c.idle) }), med(func(c console) float64 { return float64(c.welcome) }),
		ms(p50), ms(p95), ms(p99), len(keys),
		med(func(c console) float64 { return float64(c.detail.Microseconds()) / 1000 }))
}

// sandbox is a fresh home for vigil: XDG directories and a config.
type sandbox struct {
	dir, config string
}

// newSandbox writes a config derived from the lab's (labConfig): its
// Kubernetes section only unless full, the journal in the sandbox, no
// serve section. An empty labConfig gives an empty config: the welcome
// screen.
func newSandbox(dir, labConfig string, full bool) (sandbox, error) {
	s := sandbox{dir: dir, config: filepath.Join(dir, "config.yaml")}
	for _, d := range []string{filepath.Join(dir, "config", "vigil"), filepath.Join(dir, "state")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return s, err
		}
	}
	cfg := map[string]any{}
	if labConfig != "" {
		data, err := os.ReadFile(labConfig)
		if err != nil {
			return s, err
		}
		var lab map[string]any
		if err := yaml.Unmarshal(data, &lab); err != nil {
			return s, err
		}
		if full {
			cfg = lab
			delete(cfg, "serve")
		} else {
			cfg["kubernetes"] = lab["kubernetes"]
		}
		cfg["audit"] = map[string]any{"path": filepath.Join(dir, "journal.db")}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return s, err
	}
	return s, os.WriteFile(s.config, out, 0o600)
}

func (s sandbox) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.dir,
		"USER=bench",
		"LANG=C.UTF-8",
		"TERM=xterm-256color",
		"XDG_CONFIG_HOME=" + filepath.Join(s.dir, "config"),
		"XDG_STATE_HOME=" + filepath.Join(s.dir, "state"),
		"XDG_CACHE_HOME=" + filepath.Join(s.dir, "cache"),
	}
}

var tabRE = regexp.MustCompile(`(\d) Environments`)

func measureVigil(o options, sb, welcome sandbox, last string) (c console, err error) {
	c.load[0] = loadAvg()
	defer func() { c.load[1] = loadAvg() }()
	tm, err := startTmux(sb.env(), o.width, o.height)
	if err != nil {
		return c, err
	}
	defer tm.close()
	start, pid, err := tm.respawn(sb.env(), o.vigil, "--config", sb.config)
	if err != nil {
		return c, err
	}
	// The shell's tab bar: switch to the Environments pane if another
	// opened first, then filter to the last app.
	screen, err := tm.waitFor("the tab bar", 20*time.Second, func(s string) bool { return tabRE.MatchString(s) })
	if err != nil {
		return c, err
	}
	if err := tm.keys(tabRE.FindStringSubmatch(screen)[1], "/"); err != nil {
		return c, err
	}
	if err := tm.typeText(last); err != nil {
		return c, err
	}
	if err := tm.keys("Enter"); err != nil {
		return c, err
	}
	complete := func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, " │┃"), last+" ") && readyCells(line) >= o.envs {
				return true
			}
		}
		return false
	}
	if _, err := tm.waitFor(last+" complete in every environment", 60*time.Second, complete); err != nil {
		return c, err
	}
	c.full = time.Since(start)
	if c.rss5, c.rss15, err = rssAt(pid, start); err != nil {
		return c, err
	}
	// enter on the filtered row: its Rollouts detail, pods listed.
	t0 := time.Now()
	if err := tm.keys("Enter"); err != nil {
		return c, err
	}
	if _, err := tm.waitFor("the detail of "+last, 10*time.Second, func(s string) bool {
		return strings.Contains(s, "PODS") && strings.Count(s, last+"-") >= 3
	}); err != nil {
		return c, err
	}
	c.detail = time.Since(t0)
	// Back to the Environments pane, the filter cleared: the whole matrix.
	if err := tm.keys(tabRE.FindStringSubmatch(screen)[1]); err != nil {
		return c, err
	}
	if err := tm.keys("Escape"); err != nil {
		return c, err
	}
	if _, err := tm.waitFor("the whole matrix", 10*time.Second, func(s string) bool {
		return !strings.Contains(s, "filter "+last)
	}); err != nil {
		return c, err
	}
	if c.idle, err = idleTicks(pid); err != nil {
		return c, err
	}
	if c.keys, err = keyLatency(tm, o.keys); err != nil {
		return c, err
	}
	c.welcome, err = welcomeIdle(o, welcome)
	return c, err
}

var countsRE = regexp.MustCompile(`(\d+)/(\d+)`)

// readyCells counts the cells of a matrix row whose pods are all ready.
func readyCells(line string) int {
	n := 0
	for _, m := range countsRE.FindAllStringSubmatch(line, -1) {
		if m[1] == m[2] && m[1] != "0" {
			n++
		}
	}
	return n
}

// rssAt reads the RSS 5 s and 15 s after start.
func rssAt(pid int, start time.Time) (rss5, rss15 float64, err error) {
	time.Sleep(time.Until(start.Add(5 * time.Second)))
	if rss5, err = rssMB(pid); err != nil {
		return
	}
	time.Sleep(time.Until(start.Add(15 * time.Second)))
	rss15, err = rssMB(pid)
	return
}

// idleTicks is the CPU a process takes over 10 s, after a second left
// for the last frame.
func idleTicks(pid int) (int64, error) {
	time.Sleep(time.Second)
	t0, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	time.Sleep(10 * time.Second)
	t1, err := cpuTicks(pid)
	return t1 - t0, err
}

// keyLatency presses j n times through a control client, each after a
// random gap of 20–120 ms once the pane is quiet, and returns the times
// to the pane's first output.
func keyLatency(tm *tmuxServer, n int) ([]time.Duration, error) {
	ctl, err := tm.control()
	if err != nil {
		return nil, err
	}
	defer ctl.close()
	ctl.quiet(300*time.Millisecond, 5*time.Second)
	out := make([]time.Duration, 0, n)
	for range n {
		time.Sleep(time.Duration(20+rand.IntN(100)) * time.Millisecond)
		d, err := ctl.key(tm.target, "j", 5*time.Second)
		if err != nil {
			return out, err
		}
		out = append(out, d)
		ctl.quiet(15*time.Millisecond, time.Second) // the rest of the frame
	}
	return out, nil
}

// welcomeIdle starts vigil with nothing configured and measures its idle
// ticks on the welcome screen.
func welcomeIdle(o options, s sandbox) (int64, error) {
	tm, err := startTmux(s.env(), o.width, o.height)
	if err != nil {
		return 0, err
	}
	defer tm.close()
	_, pid, err := tm.respawn(s.env(), o.vigil, "--config", s.config)
	if err != nil {
		return 0, err
	}
	if _, err := tm.waitFor("the welcome screen", 10*time.Second, func(s string) bool { return strings.Contains(s, "Welcome to vigil") }); err != nil {
		return 0, err
	}
	return idleTicks(pid)
}

var k9sCount = regexp.MustCompile(`deployments\(all\)\[(\d+)\]`)

func measureK9s(o options, kubeconfig, home string) (c console, err error) {
	c.load[0] = loadAvg()
	c.welcome = -1
	defer func() { c.load[1] = loadAvg() }()
	if err := os.MkdirAll(home, 0o700); err != nil {
		return c, err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "TERM=xterm-256color",
		"KUBECONFIG=" + kubeconfig, "XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"), "XDG_DATA_HOME=" + filepath.Join(home, "data"), "XDG_CACHE_HOME=" + filepath.Join(home, "cache")}
	tm, err := startTmux(env, o.width, o.height)
	if err != nil {
		return c, err
	}
	defer tm.close()
	start, pid, err := tm.respawn(env, o.k9s, "-A", "-c", "deploy", "--headless", "--logoless")
	if err != nil {
		return c, err
	}
	if _, err := tm.waitFor("deployments(all)[≥ apps × envs]", 60*time.Second, func(s string) bool {
		m := k9sCount.FindStringSubmatch(s)
		n := 0
		if m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		return n >= o.apps*o.envs
	}); err != nil {
		return c, err
	}
	c.full = time.Since(start)
	if c.rss5, c.rss15, err = rssAt(pid, start); err != nil {
		return c, err
	}
	if c.idle, err = idleTicks(pid); err != nil {
		return c, err
	}
	c.keys, err = keyLatency(tm, o.keys)
	return c, err
}

// statusBesideKubectl times `vigil status --json` and `kubectl get deploy
// -A -o json`, alternating, three times each: wall time and peak RSS.
func statusBesideKubectl(o options, sb sandbox, kubeconfig string) error {
	type fig struct {
		wall time.Duration
		rss  float64
	}
	measure := func(env []string, argv ...string) (fig, error) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		var errb strings.Builder
		cmd.Stderr = &errb
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fig{}, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, errb.String())
		}
		f := fig{wall: time.Since(start)}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			f.rss = float64(ru.Maxrss) / 1024 // kB on Linux
		}
		return f, nil
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return fmt.Errorf("kubectl: %w", err)
	}
	var vf, kf []fig
	for range o.runs {
		f, err := measure(sb.env(), o.vigil, "--config", sb.config, "status", "--json")
		if err != nil {
			return err
		}
		vf = append(vf, f)
		f, err = measure(append(sb.env(), "KUBECONFIG="+kubeconfig), kubectl, "get", "deploy", "-A", "-o", "json")
		if err != nil {
			return err
		}
		kf = append(kf, f)
	}
	show := func(name string, fs []fig) (time.Duration, float64) {
		var parts []string
		walls := make([]time.Duration, len(fs))
		rsss := make([]float64, len(fs))
		for i, f := range fs {
			parts = append(parts, fmt.Sprintf("%.2f s %.0f MB", f.wall.Seconds(), f.rss))
			walls[i], rsss[i] = f.wall, f.rss
		}
		slices.Sort(walls)
		slices.Sort(rsss)
		fmt.Printf("%-38s median %.2f s, peak RSS %.0f MB (%s)\n", name, walls[len(walls)/2].Seconds(), rsss[len(rsss)/2], strings.Join(parts, "; "))
		return walls[len(walls)/2], rsss[len(rsss)/2]
	}
	fmt.Printf("load average %s\n", loadAvg())
	vw, vr := show("vigil status --json", vf)
	kw, kr := show("kubectl get deploy -A -o json", kf)
	fmt.Printf("vigil ÷ kubectl: wall %.2f, peak RSS %.2f\n", vw.Seconds()/kw.Seconds(), vr/kr)
	return nil
}

// readEnv reads KEY=value lines.
func readEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	for _, k := range []string{"KUBECONFIG", "VIGIL_CONFIG"} {
		if env[k] == "" {
			return nil, fmt.Errorf("%s names no %s", path, k)
		}
	}
	return env, nil
}
