package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// PostgreSQL, the shared store of several bastions (vigil's audit.backend
// postgres): Debian's server binaries, its own data dir in the state dir, a
// loopback port, and, when the lab runs as root (initdb and postgres refuse
// root), its own system user.
const (
	pgUser     = "vigil-lab" // the system user the server runs as under root
	pgRole     = "vigil"     // the database role vigil connects as
	pgDatabase = "vigil"
)

func (l *lab) pgDir() string          { return l.path("postgres") }
func (l *lab) pgData() string         { return l.path("postgres", "data") }
func (l *lab) pgPasswordFile() string { return l.path("postgres-password") }

// pgDSNFile holds the DSN (password included), 0600: vigil's
// audit.postgres.dsn.file.
func (l *lab) pgDSNFile() string { return l.path("postgres.dsn") }

// pgBin finds a PostgreSQL program: on PATH, else in Debian's versioned
// directory (the newest version there).
func pgBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH nor in /usr/lib/postgresql/*/bin: apt-get install postgresql", name)
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// asPgUser prefixes argv so that it runs as the lab's PostgreSQL user when
// this process is root, and unchanged otherwise.
func asPgUser(argv ...string) []string {
	if os.Geteuid() != 0 {
		return argv
	}
	return append([]string{"setpriv", "--reuid=" + pgUser, "--regid=" + pgUser, "--clear-groups", "--"}, argv...)
}

// pgArgs is the server's command line; it names the data dir, and so the
// state dir, as every lab daemon's does.
func (l *lab) pgArgs() []string {
	bin, err := pgBin("postgres")
	if err != nil {
		bin = "postgres" // status and down only need the name
	}
	return asPgUser(bin, "-D", l.pgData(),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(l.ports.Postgres),
		"-c", "unix_socket_directories=", "-c", "shared_buffers=32MB", "-c", "max_connections=100")
}

// pgPassword is the role's password, made at the first up.
func (l *lab) pgPassword() (string, error) {
	b, err := os.ReadFile(l.pgPasswordFile())
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	r := make([]byte, 16)
	_, _ = rand.Read(r)
	pw := hex.EncodeToString(r)
	return pw, os.WriteFile(l.pgPasswordFile(), []byte(pw+"\n"), 0o600)
}

// pgDSN is the DSN vigil and the tests connect with.
func (l *lab) pgDSN(password string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", pgRole, password, l.ports.Postgres, pgDatabase)
}

// pgHealth asks the server whether it accepts connections.
func (l *lab) pgHealth() error {
	bin, err := pgBin("pg_isready")
	if err != nil {
		return err
	}
	out, err := exec.Command(bin, "-h", "127.0.0.1", "-p", strconv.Itoa(l.ports.Postgres), "-d", "postgres").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_isready: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ensurePostgresCluster creates the data dir with initdb unless it exists:
// the role pgRole with the lab's password, password authentication.
func (l *lab) ensurePostgresCluster() error {
	if fileExists(filepath.Join(l.pgData(), "PG_VERSION")) {
		return nil
	}
	initdb, err := pgBin("initdb")
	if err != nil {
		return err
	}
	if _, err := pgBin("postgres"); err != nil {
		return err
	}
	pw, err := l.pgPassword()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(l.pgDir(), 0o700); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		uid, gid, err := ensureSystemUser(pgUser)
		if err != nil {
			return err
		}
		if err := os.Chown(l.pgDir(), uid, gid); err != nil {
			return err
		}
		if err := l.letPgUserIn(); err != nil {
			return err
		}
	}
	// initdb reads the password from a file; it is the server user's for
	// the moment initdb runs.
	pwFile := filepath.Join(l.pgDir(), "pwfile")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwFile)
	if os.Geteuid() == 0 {
		u, err := user.Lookup(pgUser)
		if err != nil {
			return err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(pwFile, uid, gid); err != nil {
			return err
		}
	}
	argv := asPgUser(initdb, "-D", l.pgData(), "-U", pgRole, "--pwfile", pwFile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = l.pgDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(l.pgData())
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	logf(l.out, "%-12s data dir created in %s", "postgres", l.pgData())
	return nil
}

// ensurePgDatabase creates the database vigil uses unless it exists, and
// writes the DSN file.
func (l *lab) ensurePgDatabase() error {
	pw, err := l.pgPassword()
	if err != nil {
		return err
	}
	psql, err := pgBin("psql")
	if err != nil {
		return err
	}
	admin := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/postgres?sslmode=disable", pgRole, pw, l.ports.Postgres)
	out, err := exec.Command(psql, admin, "-tAc", "SELECT 1 FROM pg_database WHERE datname = '"+pgDatabase+"'").CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql: %w: %s", err, out)
	}
	if strings.TrimSpace(string(out)) != "1" {
		if out, err := exec.Command(psql, admin, "-qc", "CREATE DATABASE "+pgDatabase).CombinedOutput(); err != nil {
			return fmt.Errorf("create database %s: %w: %s", pgDatabase, err, out)
		}
	}
	return os.WriteFile(l.pgDSNFile(), []byte(l.pgDSN(pw)+"\n"), 0o600)
}

// ensureSystemUser creates a system user (and its group) without a home or
// a shell unless it exists, and returns its ids.
func ensureSystemUser(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return 0, 0, err
		}
		out, err := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
		if err != nil {
			return 0, 0, fmt.Errorf("useradd %s: %w: %s", name, err, out)
		}
		if u, err = user.Lookup(name); err != nil {
			return 0, 0, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// letPgUserIn makes sure the server's user can reach its data dir: a state
// dir under root's home (0700) is not. Each directory on the way that others
// cannot traverse gets an ACL entry letting that one user through (search
// only: it lists nothing).
func (l *lab) letPgUserIn() error {
	reachable := func() bool {
		argv := asPgUser("test", "-w", l.pgDir())
		return exec.Command(argv[0], argv[1:]...).Run() == nil
	}
	if reachable() {
		return nil
	}
	setfacl, err := exec.LookPath("setfacl")
	if err != nil {
		// Only a state dir others cannot reach needs it: installed then.
		if _, aptErr := exec.LookPath("apt-get"); aptErr != nil {
			return fmt.Errorf("user %s cannot reach %s and setfacl is missing (apt-get install acl), or choose another VIGIL_LAB_STATE", pgUser, l.pgDir())
		}
		logf(l.out, "installing acl (setfacl), for %s to reach %s", pgUser, l.pgDir())
		cmd := exec.Command("apt-get", "install", "-y", "acl")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = l.out, l.out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get install acl: %w", err)
		}
		if setfacl, err = exec.LookPath("setfacl"); err != nil {
			return err
		}
	}
	for dir := filepath.Dir(l.pgDir()); ; dir = filepath.Dir(dir) {
		info, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o001 == 0 {
			if out, err := exec.Command(setfacl, "-m", "u:"+pgUser+":x", dir).CombinedOutput(); err != nil {
				return fmt.Errorf("setfacl on %s: %w: %s", dir, err, out)
			}
			logf(l.out, "%-12s user %s may now traverse %s (ACL, search only)", "postgres", pgUser, dir)
		}
		if dir == "/" {
			break
		}
	}
	if !reachable() {
		return fmt.Errorf("user %s still cannot reach %s", pgUser, l.pgDir())
	}
	return nil
}

// stopSignalOf is the first signal down sends a daemon: PostgreSQL's SIGTERM
// waits for every client to leave; SIGINT rolls them back and stops.
func stopSignalOf(name string) syscall.Signal {
	if name == "postgres" {
		return syscall.SIGINT
	}
	return syscall.SIGTERM
}
