package smoke

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilops/vigil/lab/internal/labstate"
	"github.com/vigilops/vigil/lab/internal/needs"
)

// The lab's PostgreSQL: the DSN in lab.env and in its file reaches the
// vigil database as the vigil role, on 127.0.0.1 at the lab's port, served
// from the state dir by a server that never runs as root.
func TestPostgres(t *testing.T) {
	env := labEnv(t)
	dsn := env["VIGIL_LAB_POSTGRES_DSN"]
	if dsn == "" {
		noLab(t, "lab.env lacks VIGIL_LAB_POSTGRES_DSN: run `make lab-up` again")
	}
	b, err := os.ReadFile(env["VIGIL_LAB_POSTGRES_DSN_FILE"])
	if err != nil {
		t.Fatalf("the DSN file: %v", err)
	}
	if got := strings.TrimSpace(string(b)); got != dsn {
		t.Fatalf("the DSN file and lab.env differ")
	}
	if info, err := os.Stat(env["VIGIL_LAB_POSTGRES_DSN_FILE"]); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the DSN file holds a password: want mode 0600, got %v (%v)", info.Mode(), err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("the DSN does not parse: %v", err)
	}
	ports, err := labstate.LoadPorts(env["VIGIL_LAB_STATE"])
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "127.0.0.1:"+strconv.Itoa(ports.Postgres) {
		t.Fatalf("DSN host %s, want 127.0.0.1:%d", u.Host, ports.Postgres)
	}

	psql := needs.Tool(t, "psql", "postgresql-client")
	out, err := exec.Command(psql, dsn, "-tAc",
		"SELECT current_user, current_database(), host(inet_server_addr()), current_setting('data_directory'), current_setting('listen_addresses')").CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v: %s", err, out)
	}
	want := fmt.Sprintf("vigil|vigil|127.0.0.1|%s|127.0.0.1", filepath.Join(env["VIGIL_LAB_STATE"], "postgres", "data"))
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("psql says %q, want %q", got, want)
	}

	// The server's user: never root (initdb and postgres refuse it).
	pidFile := filepath.Join(env["VIGIL_LAB_STATE"], "run", "postgres.pid")
	pb, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pb)) + "/status")
	if err != nil {
		t.Fatalf("the server process: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) == 0 || f[0] == "0" {
				t.Fatalf("postgres runs as root: %s", line)
			}
		}
	}

	// A wrong password is refused: the server asks for one.
	bad := *u
	bad.User = url.UserPassword(u.User.Username(), "wrong")
	if out, err := exec.Command(psql, bad.String(), "-tAc", "SELECT 1").CombinedOutput(); err == nil {
		t.Fatalf("a wrong password was let in: %s", out)
	}
}
