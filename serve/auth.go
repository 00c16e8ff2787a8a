package serve

import (
	"errors"
	"fmt"

	gossh "golang.org/x/crypto/ssh"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
)

// Extensions of the connection's permissions that carry who authenticated
// from the auth callback to the session.
const (
	extUser = "vigil-user"
	extRole = "vigil-role"
	extKey  = "vigil-key-fingerprint"
)

// errUnknownKey is the reason an unknown key is refused.
var errUnknownKey = errors.New("public key not listed in serve.users")

// user is who a key belongs to.
type user struct {
	name string
	role access.Role
}

// users maps each configured public key (in wire format) to its owner.
type users map[string]user

// newUsers indexes serve.users by key. Config validation has checked the
// lines already; an error here means the config was not validated.
func newUsers(list []config.User) (users, error) {
	out := users{}
	for i, u := range list {
		role, err := access.ParseRole(u.Role)
		if err != nil {
			return nil, fmt.Errorf("serve.users[%d].role: %w", i, err)
		}
		for j, line := range u.Keys {
			key, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				return nil, fmt.Errorf("serve.users[%d].keys[%d]: not an authorized_keys line: %w", i, j, err)
			}
			if prev, dup := out[string(key.Marshal())]; dup && prev.name != u.Name {
				return nil, fmt.Errorf("serve.users[%d].keys[%d]: this key already belongs to %s: a key names one person", i, j, prev.name)
			}
			out[string(key.Marshal())] = user{name: u.Name, role: role}
		}
	}
	return out, nil
}

// publicKeyCallback returns the public key check of one connection: it
// accepts the configured keys only, and the user's identity comes from the
// key, not from the login name. The first unknown key a connection offers
// is refused with a banner, which OpenSSH prints, saying which key and what
// to do; later ones quietly, since a client with several keys tries each.
func (us users) publicKeyCallback() func(gossh.ConnMetadata, gossh.PublicKey) (*gossh.Permissions, error) {
	told := false
	return func(_ gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
		fp := gossh.FingerprintSHA256(key)
		u, ok := us[string(key.Marshal())]
		if !ok {
			// The fingerprint reaches the server's log line (authLog).
			err := fmt.Errorf("%w: %s", errUnknownKey, fp)
			if told {
				return nil, err
			}
			told = true
			return nil, &gossh.BannerError{
				Err: err,
				Message: fmt.Sprintf("vigil: the key %s is not allowed here.\r\n"+
					"Ask an administrator to add its public key to serve.users in vigil's config.\r\n", fp),
			}
		}
		return &gossh.Permissions{Extensions: map[string]string{
			extUser: u.name,
			extRole: string(u.role),
			extKey:  fp,
		}}, nil
	}
}

// actorOf is the actor behind an authenticated connection.
func actorOf(perms *gossh.Permissions, addr string) (access.Actor, bool) {
	if perms == nil || perms.Extensions[extUser] == "" {
		return access.Actor{}, false
	}
	return access.Actor{
		Name:           perms.Extensions[extUser],
		Role:           access.Role(perms.Extensions[extRole]),
		Source:         "ssh",
		KeyFingerprint: perms.Extensions[extKey],
		Address:        addr,
	}, true
}
