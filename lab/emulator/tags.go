package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ensureTag returns the canonical spelling of name, registering it when new.
// The caller holds s.mu.
func (s *Server) ensureTag(name string) string {
	if c, ok := s.findTag(name); ok {
		return c
	}
	s.st.Tags = append(s.st.Tags, name)
	s.markDirty()
	return name
}

func (s *Server) findTag(name string) (string, bool) {
	for _, t := range s.st.Tags {
		if strings.EqualFold(t, name) {
			return t, true
		}
	}
	return "", false
}

type tagCount struct {
	Count         int    `json:"count"`
	LastTaggedURI string `json:"last_tagged_uri,omitempty"`
}

func (s *Server) renderTag(r *http.Request, name string) map[string]any {
	var droplets, volumes tagCount
	for _, d := range s.sortedDroplets() {
		if slices.Contains(d.Tags, name) {
			droplets.Count++
			droplets.LastTaggedURI = fmt.Sprintf("%s/v2/droplets/%d", baseURL(r), d.ID)
		}
	}
	for _, v := range s.sortedVolumes() {
		if slices.Contains(v.Tags, name) {
			volumes.Count++
			volumes.LastTaggedURI = fmt.Sprintf("%s/v2/volumes/%s", baseURL(r), v.ID)
		}
	}
	last := droplets.LastTaggedURI
	if last == "" {
		last = volumes.LastTaggedURI
	}
	return map[string]any{"name": name, "resources": map[string]any{
		"count": droplets.Count + volumes.Count, "last_tagged_uri": last,
		"droplets": droplets, "volumes": volumes,
		"images": tagCount{}, "volume_snapshots": tagCount{}, "databases": tagCount{},
	}}
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lo, hi, links, m := page(r, len(s.st.Tags))
	out := []map[string]any{}
	for _, t := range s.st.Tags[lo:hi] {
		out = append(out, s.renderTag(r, t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": out, "links": links, "meta": m})
}

func (s *Server) createTag(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	if len(req.Name) > 255 || !tagName.MatchString(req.Name) {
		unprocessable(w, fmt.Sprintf("Tag %q is invalid: use letters, digits, colons, dashes and underscores.", req.Name))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"tag": s.renderTag(r, s.ensureTag(req.Name))})
}

func (s *Server) getTag(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.findTag(r.PathValue("tag")); ok {
		writeJSON(w, http.StatusOK, map[string]any{"tag": s.renderTag(r, t)})
		return
	}
	notFound(w)
}

func (s *Server) deleteTag(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.findTag(r.PathValue("tag"))
	if !ok {
		notFound(w)
		return
	}
	s.st.Tags = slices.DeleteFunc(s.st.Tags, func(x string) bool { return x == t })
	for _, d := range s.st.Droplets {
		d.Tags = slices.DeleteFunc(d.Tags, func(x string) bool { return x == t })
	}
	for _, v := range s.st.Volumes {
		v.Tags = slices.DeleteFunc(v.Tags, func(x string) bool { return x == t })
	}
	s.markDirty()
	w.WriteHeader(http.StatusNoContent)
}

type tagResourcesRequest struct {
	Resources []struct {
		ID   string `json:"resource_id"`
		Type string `json:"resource_type"`
	} `json:"resources"`
}

func (s *Server) tagResources(w http.ResponseWriter, r *http.Request) {
	s.changeTag(w, r, func(tags []string, t string) []string {
		if slices.Contains(tags, t) {
			return tags
		}
		return append(tags, t)
	})
}

func (s *Server) untagResources(w http.ResponseWriter, r *http.Request) {
	s.changeTag(w, r, func(tags []string, t string) []string {
		return slices.DeleteFunc(tags, func(x string) bool { return x == t })
	})
}

// changeTag applies edit to the tags of every resource in the request; all
// resources must exist before any is changed.
func (s *Server) changeTag(w http.ResponseWriter, r *http.Request, edit func([]string, string) []string) {
	var req tagResourcesRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.findTag(r.PathValue("tag"))
	if !ok {
		notFound(w)
		return
	}
	var apply []func()
	for _, res := range req.Resources {
		switch res.Type {
		case "droplet":
			id, _ := strconv.Atoi(res.ID)
			if d := s.st.Droplets[id]; d != nil {
				apply = append(apply, func() { d.Tags = edit(d.Tags, t) })
				continue
			}
		case "volume":
			if v := s.st.Volumes[res.ID]; v != nil {
				apply = append(apply, func() { v.Tags = edit(v.Tags, t) })
				continue
			}
		}
		unprocessable(w, fmt.Sprintf("Resource %s %q does not exist; the lab tags droplets and volumes.", res.Type, res.ID))
		return
	}
	for _, f := range apply {
		f()
	}
	s.markDirty()
	w.WriteHeader(http.StatusNoContent)
}
