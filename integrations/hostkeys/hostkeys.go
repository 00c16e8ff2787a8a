// Package hostkeys keeps vigil's own known_hosts file (ops/inventory's
// HostKeys port): the SSH host keys it trusts, read by OpenSSH (and so by
// Ansible) with strict checking.
package hostkeys

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/vigilops/vigil/ops/inventory"
)

var _ inventory.HostKeys = (*File)(nil)

// File is a known_hosts file. Writes are atomic (a rename), so ssh never
// reads half a file.
type File struct {
	Path string
	// Port is the SSH port scanned; 22 when zero.
	Port int

	mu sync.Mutex
}

// New keeps the known_hosts file at path.
func New(path string) *File { return &File{Path: path} }

// File is the known_hosts file's path.
func (f *File) File() string { return f.Path }

// Check compares the key addr presents with the recorded one, recording it
// on first contact.
func (f *File) Check(ctx context.Context, addr string) (inventory.HostKey, error) {
	key, err := f.scan(ctx, addr)
	if err != nil {
		return inventory.HostKey{}, err
	}
	k := inventory.HostKey{Addr: addr, Fingerprint: ssh.FingerprintSHA256(key)}
	f.mu.Lock()
	defer f.mu.Unlock()
	recorded, err := f.recorded(addr)
	if err != nil {
		return k, err
	}
	if len(recorded) == 0 {
		k.Recorded = true
		return k, f.replace(addr, key)
	}
	for _, r := range recorded {
		if bytes.Equal(r.Marshal(), key.Marshal()) {
			return k, nil
		}
	}
	// OpenSSH checks the key of the type it negotiates; a host that
	// presents a type not recorded is also a changed key, as for ssh.
	return k, &inventory.HostKeyChangedError{Addr: addr, Recorded: ssh.FingerprintSHA256(recorded[0]), Presents: k.Fingerprint}
}

// Trust records the key addr presents now in place of any other.
func (f *File) Trust(ctx context.Context, addr string) (inventory.HostKey, error) {
	key, err := f.scan(ctx, addr)
	if err != nil {
		return inventory.HostKey{}, err
	}
	k := inventory.HostKey{Addr: addr, Fingerprint: ssh.FingerprintSHA256(key), Recorded: true}
	f.mu.Lock()
	defer f.mu.Unlock()
	recorded, err := f.recorded(addr)
	if err != nil {
		return k, err
	}
	for _, r := range recorded {
		if fp := ssh.FingerprintSHA256(r); fp != k.Fingerprint {
			k.Previous = fp
		}
	}
	return k, f.replace(addr, key)
}

func (f *File) hostPort(addr string) string {
	port := f.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(addr, fmt.Sprint(port))
}

// scan reads the host key addr presents, the way ssh-keyscan does: the
// handshake stops once the key is known.
func (f *File) scan(ctx context.Context, addr string) (ssh.PublicKey, error) {
	if net.ParseIP(addr) == nil {
		return nil, fmt.Errorf("%q is not an IP address", addr)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", f.hostPort(addr))
	if err != nil {
		return nil, fmt.Errorf("reading the SSH host key of %s: %w", addr, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	var key ssh.PublicKey
	errGot := errors.New("got the key")
	cfg := &ssh.ClientConfig{User: "vigil-keyscan", HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
		key = k
		return errGot
	}}
	_, _, _, err = ssh.NewClientConn(conn, f.hostPort(addr), cfg)
	if key == nil {
		return nil, fmt.Errorf("reading the SSH host key of %s: %w", addr, err)
	}
	return key, nil
}

// recorded returns the keys kept for addr.
func (f *File) recorded(addr string) ([]ssh.PublicKey, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	want := knownhosts.Normalize(f.hostPort(addr))
	var out []ssh.PublicKey
	for rest := b; len(rest) > 0; {
		_, hosts, key, _, next, err := ssh.ParseKnownHosts(rest)
		if errors.Is(err, io.EOF) {
			break // the rest holds no key (blank lines, comments)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w (fix or remove that line)", f.Path, err)
		}
		rest = next
		for _, h := range hosts {
			if h == want {
				out = append(out, key)
			}
		}
	}
	return out, nil
}

// replace writes the file with addr's lines replaced by one for key.
func (f *File) replace(addr string, key ssh.PublicKey) error {
	host := knownhosts.Normalize(f.hostPort(addr))
	var out bytes.Buffer
	if b, err := os.ReadFile(f.Path); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := sc.Text()
			if fields := strings.Fields(line); len(fields) > 0 && fields[0] == host {
				continue
			}
			out.WriteString(line + "\n")
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out.WriteString(knownhosts.Line([]string{host}, key) + "\n")
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return err
	}
	tmp := f.Path + ".new"
	if err := os.WriteFile(tmp, out.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f.Path)
}
