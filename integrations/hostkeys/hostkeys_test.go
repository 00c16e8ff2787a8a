package hostkeys_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vigilops/vigil/integrations/hostkeys"
	"github.com/vigilops/vigil/ops/inventory"
)

// sshServer answers SSH handshakes on ln with a host key of its own, until
// the test ends: enough for a client to read the key.
func sshServer(t *testing.T, ln net.Listener) ssh.PublicKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{NoClientAuth: false, PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
		return nil, errors.New("no")
	}}
	cfg.AddHostKey(signer)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _, _, _ = ssh.NewServerConn(c, cfg)
			}()
		}
	}()
	return signer.PublicKey()
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// A host's key is recorded on first contact, checked afterwards, refused
// when it changes (with both fingerprints), and replaced only by Trust.
func TestFirstContactChangeAndTrust(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ln := listen(t, "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	first := sshServer(t, ln)
	path := filepath.Join(t.TempDir(), "known_hosts")
	f := &hostkeys.File{Path: path, Port: port}

	k, err := f.Check(ctx, "127.0.0.1")
	if err != nil || !k.Recorded || k.Fingerprint != ssh.FingerprintSHA256(first) {
		t.Fatalf("first contact: %+v, %v (the server's key is %s)", k, err, ssh.FingerprintSHA256(first))
	}
	if k, err = f.Check(ctx, "127.0.0.1"); err != nil || k.Recorded {
		t.Fatalf("second contact: %+v, %v", k, err)
	}
	b, _ := os.ReadFile(path)
	if want := "[127.0.0.1]:" + strconv.Itoa(port) + " ssh-ed25519 "; !strings.HasPrefix(string(b), want) || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("known_hosts is not one line for the host, as ssh reads it:\n%s", b)
	}

	// The host is rebuilt at the same address with a new key.
	ln.Close()
	second := sshServer(t, listen(t, ln.Addr().String()))
	_, err = f.Check(ctx, "127.0.0.1")
	var changed *inventory.HostKeyChangedError
	if !errors.As(err, &changed) || changed.Recorded != ssh.FingerprintSHA256(first) || changed.Presents != ssh.FingerprintSHA256(second) {
		t.Fatalf("a changed key: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "vigil inventory trust-key") || !strings.Contains(msg, ssh.FingerprintSHA256(first)) {
		t.Fatalf("the refusal does not say what changed and what to do: %s", msg)
	}
	if after, _ := os.ReadFile(path); string(after) != string(b) {
		t.Fatal("a refused key was written")
	}

	k, err = f.Trust(ctx, "127.0.0.1")
	if err != nil || k.Fingerprint != ssh.FingerprintSHA256(second) || k.Previous != ssh.FingerprintSHA256(first) {
		t.Fatalf("trust: %+v, %v", k, err)
	}
	if k, err = f.Check(ctx, "127.0.0.1"); err != nil || k.Recorded {
		t.Fatalf("after trust: %+v, %v", k, err)
	}
	b, _ = os.ReadFile(path)
	if strings.Count(string(b), "\n") != 1 {
		t.Fatalf("trust left more than the host's new line:\n%s", b)
	}
}

// A host that does not answer is an error naming it, not a recorded key.
func TestUnreachableHost(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	f := &hostkeys.File{Path: filepath.Join(t.TempDir(), "known_hosts"), Port: port}
	if _, err := f.Check(context.Background(), "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("unreachable: %v", err)
	}
	if _, err := os.Stat(f.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a known_hosts file was written for a host that never answered")
	}
}

// A damaged file is an error that names it, never a silent first contact.
func TestDamagedFile(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	sshServer(t, ln)
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte("127.0.0.1 ssh-ed25519 not-base64!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &hostkeys.File{Path: path, Port: ln.Addr().(*net.TCPAddr).Port}
	if _, err := f.Check(context.Background(), "127.0.0.1"); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("damaged file: %v", err)
	}
}
