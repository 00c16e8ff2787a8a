package hosts

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMounts: a volume's directory shows up inside the host at start and when
// mounted later, writes through it reach the directory, and unmounting hides
// it again.
func TestMounts(t *testing.T) {
	m := newManager(t)
	key, pub := clientKey(t)
	vol, vol2 := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(vol, "a.csv"), []byte("id,email\n1,a@example.com\n"), 0o644)
	os.WriteFile(filepath.Join(vol2, "b.txt"), []byte("second\n"), 0o644)
	spec := Spec{ID: 7, Name: "data-1", IP: "127.0.99.7", AuthorizedKeys: []string{pub}, Mounts: []Mount{{Source: vol, Target: "/mnt/pgdata"}}}
	if err := m.Start(spec); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, key, spec.IP, "cat /mnt/pgdata/a.csv && echo changed > /mnt/pgdata/new"); err != nil || out != "id,email\n1,a@example.com" {
		t.Fatalf("volume at start: %q %v", out, err)
	}
	if b, _ := os.ReadFile(filepath.Join(vol, "new")); string(b) != "changed\n" {
		t.Fatalf("a write on the host did not reach the volume: %q", b)
	}
	if err := m.Mount(7, Mount{Source: vol2, Target: "/mnt/other"}); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, key, spec.IP, "cat /mnt/other/b.txt"); err != nil || out != "second" {
		t.Fatalf("volume mounted while running: %q %v", out, err)
	}
	if err := m.Unmount(7, "/mnt/pgdata"); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, key, spec.IP, "test -e /mnt/pgdata/a.csv && echo still"); err == nil {
		t.Fatalf("unmounted volume still visible: %q", out)
	}
	if err := m.Remove(7); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(vol, "a.csv")); err != nil {
		t.Fatalf("removing the host reached into the volume: %v", err)
	}
}
