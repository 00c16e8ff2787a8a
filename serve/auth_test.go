package serve

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// TestUnknownKeyErrorNamesFingerprint: the error the server logs for an
// unknown key (first offered or later) carries the key's fingerprint.
func TestUnknownKeyErrorNamesFingerprint(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	check := users{}.publicKeyCallback()
	fp := gossh.FingerprintSHA256(key)
	for i := range 2 {
		_, err := check(nil, key)
		var banner *gossh.BannerError
		if errors.As(err, &banner) {
			err = banner.Err
		}
		if !errors.Is(err, errUnknownKey) || !strings.Contains(err.Error(), fp) {
			t.Errorf("offer %d: error %v does not name %s", i+1, err, fp)
		}
	}
}
