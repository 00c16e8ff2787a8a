package emulator

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"account": map[string]any{
		"droplet_limit": 25000, "floating_ip_limit": 3, "volume_limit": 100,
		"email": "lab@vigil.invalid", "name": "vigil lab", "uuid": "8c1f3f5e-0d55-4b5c-9a55-6c0f0e1a1ab0",
		"email_verified": true, "status": "active", "status_message": "",
		"team": map[string]string{"uuid": "5df3e3004a8d4f4c9b4a4e7a1c1e0ab2", "name": "vigil lab"},
	}})
}

func (s *Server) listRegions(w http.ResponseWriter, r *http.Request) {
	all := catalogRegions()
	lo, hi, links, m := page(r, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"regions": all[lo:hi], "links": links, "meta": m})
}

func (s *Server) listSizes(w http.ResponseWriter, r *http.Request) {
	all := catalogSizes()
	lo, hi, links, m := page(r, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"sizes": all[lo:hi], "links": links, "meta": m})
}

// listImages serves the distribution images; the lab has no private images,
// so type=snapshot and private=true list nothing.
func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	all := catalogImages()
	q := r.URL.Query()
	if (q.Get("type") != "" && q.Get("type") != "distribution") || q.Get("private") == "true" {
		all = []image{}
	}
	if t := q.Get("tag_name"); t != "" {
		all = []image{}
	}
	lo, hi, links, m := page(r, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"images": all[lo:hi], "links": links, "meta": m})
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("image")
	id, _ := strconv.Atoi(ref)
	if img, ok := catalogImage(ref, id); ok {
		writeJSON(w, http.StatusOK, map[string]any{"image": img})
		return
	}
	notFound(w)
}

// fingerprint is OpenSSH's MD5 fingerprint of an authorized_keys line, the
// form DigitalOcean uses.
func fingerprint(pub string) (string, error) {
	f := strings.Fields(pub)
	if len(f) < 2 || !strings.HasPrefix(f[0], "ssh-") && !strings.HasPrefix(f[0], "ecdsa-") {
		return "", errors.New("the public key must be one OpenSSH line like \"ssh-ed25519 AAAA… comment\"")
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return "", fmt.Errorf("the public key's base64 part is invalid: %v", err)
	}
	sum := md5.Sum(blob)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(hexes, ":"), nil
}

// ensureKey registers pub under name unless the account has it already.
func (s *Server) ensureKey(name, pub string) (*sshKey, error) {
	fp, err := fingerprint(pub)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.st.Keys {
		if k.Fingerprint == fp {
			return k, nil
		}
	}
	k := &sshKey{ID: s.st.NextKeyID, Fingerprint: fp, PublicKey: strings.TrimSpace(pub), Name: name}
	s.st.NextKeyID++
	s.st.Keys = append(s.st.Keys, k)
	return k, nil
}

func (s *Server) findKey(ref string) *sshKey {
	id, _ := strconv.Atoi(ref)
	for _, k := range s.st.Keys {
		if k.Fingerprint == ref || k.ID == id {
			return k
		}
	}
	return nil
}

// resolveKeys maps the ssh_keys of a create request (ids or fingerprints) to
// public keys; the lab key is always authorized so the lab reaches its hosts.
func (s *Server) resolveKeys(refs []any) ([]string, error) {
	var out []string
	if s.cfg.LabKey != "" {
		out = append(out, strings.TrimSpace(s.cfg.LabKey))
	}
	for _, ref := range refs {
		var k *sshKey
		switch v := ref.(type) {
		case string:
			k = s.findKey(v)
		case float64:
			k = s.findKey(strconv.Itoa(int(v)))
		}
		if k == nil {
			return nil, fmt.Errorf("SSH key %v is not in the account; list /v2/account/keys", ref)
		}
		if !slices.Contains(out, k.PublicKey) {
			out = append(out, k.PublicKey)
		}
	}
	return out, nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lo, hi, links, m := page(r, len(s.st.Keys))
	writeJSON(w, http.StatusOK, map[string]any{"ssh_keys": s.st.Keys[lo:hi], "links": links, "meta": m})
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.findKey(r.PathValue("key")); k != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ssh_key": k})
		return
	}
	notFound(w)
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name      string `json:"name"`
		PublicKey string `json:"public_key"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" {
		unprocessable(w, "An SSH key needs a name.")
		return
	}
	fp, err := fingerprint(req.PublicKey)
	if err != nil {
		unprocessable(w, err.Error())
		return
	}
	s.mu.Lock()
	exists := false
	for _, k := range s.st.Keys {
		exists = exists || k.Fingerprint == fp
	}
	s.mu.Unlock()
	if exists {
		unprocessable(w, "SSH Key is already in use on your account.")
		return
	}
	k, err := s.ensureKey(req.Name, req.PublicKey)
	if err != nil {
		unprocessable(w, err.Error())
		return
	}
	s.markDirty()
	writeJSON(w, http.StatusCreated, map[string]any{"ssh_key": k})
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.findKey(r.PathValue("key"))
	if k == nil {
		notFound(w)
		return
	}
	s.st.Keys = slices.DeleteFunc(s.st.Keys, func(x *sshKey) bool { return x == k })
	s.markDirty()
	w.WriteHeader(http.StatusNoContent)
}
