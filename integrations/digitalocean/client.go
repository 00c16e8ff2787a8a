// Package digitalocean adapts DigitalOcean's API (through godo) to the
// inventory's Cloud port: lists walk every page, actions are waited on with
// progress, rate limits and 5xx are handled by the transport.
package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/vigilops/vigil/internal/redact"
	"github.com/vigilops/vigil/ops/inventory"
)

var _ inventory.Cloud = (*Client)(nil)

// perPage is the largest page the API serves.
const perPage = 200

// Options configure a Client.
type Options struct {
	APIURL string // e.g. https://api.digitalocean.com/ or the lab emulator's URL
	Token  string
	// PollInterval is how often a pending action is checked; default 2s.
	PollInterval time.Duration
	// OnWait, when set, is told about every wait on the rate limit or a retry.
	OnWait func(reason string, d time.Duration)
	// HTTPClient is the base client; default a client with a 30s timeout.
	HTTPClient *http.Client
}

// Client talks to one DigitalOcean account.
type Client struct {
	api  *godo.Client
	poll time.Duration
}

// New builds a Client; it makes no request.
func New(o Options) (*Client, error) {
	if o.Token == "" {
		return nil, errors.New("no DigitalOcean token: set digitalocean.token in the config (default env DIGITALOCEAN_ACCESS_TOKEN)")
	}
	base := http.DefaultTransport
	timeout := 30 * time.Second
	if o.HTTPClient != nil {
		if o.HTTPClient.Transport != nil {
			base = o.HTTPClient.Transport
		}
		timeout = o.HTTPClient.Timeout
	}
	tr := newTransport(base, o.Token)
	tr.onWait = o.OnWait
	opts := []godo.ClientOpt{godo.SetUserAgent("vigil")}
	if o.APIURL != "" {
		u := o.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, godo.SetBaseURL(u))
	}
	api, err := godo.New(&http.Client{Transport: tr, Timeout: timeout}, opts...)
	if err != nil {
		return nil, fmt.Errorf("digitalocean.api_url %q: %s", redact.URL(o.APIURL), redact.Text(err.Error()))
	}
	poll := o.PollInterval
	if poll <= 0 {
		poll = 2 * time.Second
	}
	return &Client{api: api, poll: poll}, nil
}

// apiError turns a godo error into one that says what to do.
func apiError(op string, err error) error {
	var er *godo.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: DigitalOcean rejected the token (401 %s): check digitalocean.token (by default env DIGITALOCEAN_ACCESS_TOKEN)", op, er.Message)
		case http.StatusForbidden:
			return fmt.Errorf("%s: the token may not do this (403 %s): give it write scope", op, er.Message)
		case http.StatusNotFound:
			return fmt.Errorf("%s: not found (404): it may have been deleted; refresh the inventory", op)
		case http.StatusTooManyRequests:
			return fmt.Errorf("%s: still rate limited after retries (429 %s): wait and try again", op, er.Message)
		}
		if er.Response.StatusCode >= 500 {
			return fmt.Errorf("%s: DigitalOcean failed after retries (%d %s): try again later", op, er.Response.StatusCode, er.Message)
		}
		return fmt.Errorf("%s: %d %s", op, er.Response.StatusCode, er.Message)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// walk calls fetch for each page until the last one.
func walk(ctx context.Context, fetch func(opt *godo.ListOptions) (*godo.Response, error)) error {
	opt := &godo.ListOptions{Page: 1, PerPage: perPage}
	for {
		resp, err := fetch(opt)
		if err != nil {
			return err
		}
		if resp == nil || resp.Links == nil || resp.Links.IsLastPage() {
			return nil
		}
		// Count pages ourselves: godo's CurrentPage reads the prev link,
		// which a server may leave out.
		opt.Page++
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func host(d *godo.Droplet) inventory.Host {
	h := inventory.Host{
		ID: d.ID, Name: d.Name, Status: d.Status, Tags: d.Tags, Locked: d.Locked, VolumeIDs: d.VolumeIDs,
	}
	if d.Region != nil {
		h.Region = d.Region.Slug
	}
	h.Size = d.SizeSlug
	if d.Size != nil {
		h.PriceMonthly = d.Size.PriceMonthly
		if h.Size == "" {
			h.Size = d.Size.Slug
		}
	}
	if d.Image != nil {
		h.Image = d.Image.Slug
		if h.Image == "" {
			h.Image = d.Image.Distribution + " " + d.Image.Name
		}
	}
	h.VPCID = d.VPCUUID
	h.PublicIPv4, _ = d.PublicIPv4()
	h.PrivateIPv4, _ = d.PrivateIPv4()
	h.Created, _ = time.Parse(time.RFC3339, d.Created)
	return h
}

func (c *Client) Hosts(ctx context.Context, tag string) ([]inventory.Host, error) {
	var out []inventory.Host
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		var ds []godo.Droplet
		var resp *godo.Response
		var err error
		if tag != "" {
			ds, resp, err = c.api.Droplets.ListByTag(ctx, tag, opt)
		} else {
			ds, resp, err = c.api.Droplets.List(ctx, opt)
		}
		if out == nil && resp != nil && resp.Meta != nil {
			out = make([]inventory.Host, 0, resp.Meta.Total)
		}
		for i := range ds {
			out = append(out, host(&ds[i]))
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list droplets", err)
	}
	return out, nil
}

func (c *Client) Host(ctx context.Context, id int) (inventory.Host, error) {
	d, _, err := c.api.Droplets.Get(ctx, id)
	if err != nil {
		return inventory.Host{}, apiError("get droplet "+strconv.Itoa(id), err)
	}
	return host(d), nil
}

func (c *Client) Sizes(ctx context.Context) ([]inventory.Size, error) {
	var out []inventory.Size
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		ss, resp, err := c.api.Sizes.List(ctx, opt)
		for _, s := range ss {
			out = append(out, inventory.Size{
				Slug: s.Slug, Memory: s.Memory, Vcpus: s.Vcpus, Disk: s.Disk, PriceMonthly: s.PriceMonthly, Regions: s.Regions,
			})
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list sizes", err)
	}
	return out, nil
}

func (c *Client) Volumes(ctx context.Context) ([]inventory.Volume, error) {
	var out []inventory.Volume
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		vs, resp, err := c.api.Storage.ListVolumes(ctx, &godo.ListVolumeParams{ListOptions: opt})
		for i := range vs {
			out = append(out, volume(&vs[i]))
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list volumes", err)
	}
	return out, nil
}

func volume(v *godo.Volume) inventory.Volume {
	out := inventory.Volume{
		ID: v.ID, Name: v.Name, SizeGB: int(v.SizeGigaBytes), HostIDs: v.DropletIDs,
		Created: v.CreatedAt, Filesystem: v.FilesystemType,
	}
	if v.Region != nil {
		out.Region = v.Region.Slug
	}
	return out
}

// sshKeys turns the keys of a template into the API's references: a
// numeric id or an MD5 fingerprint passes as it is, and a name is looked up
// in the account's keys, as a person names them in the control panel.
func (c *Client) sshKeys(ctx context.Context, keys []string) ([]godo.DropletCreateSSHKey, error) {
	out := make([]godo.DropletCreateSSHKey, 0, len(keys))
	var byName map[string]godo.Key
	for _, k := range keys {
		if id, err := strconv.Atoi(k); err == nil {
			out = append(out, godo.DropletCreateSSHKey{ID: id})
			continue
		}
		if isFingerprint(k) {
			out = append(out, godo.DropletCreateSSHKey{Fingerprint: k})
			continue
		}
		if byName == nil {
			var err error
			if byName, err = c.keysByName(ctx); err != nil {
				return nil, err
			}
		}
		key, ok := byName[k]
		if !ok {
			names := slices.Sorted(maps.Keys(byName))
			return nil, fmt.Errorf("ssh key %q is not in the DigitalOcean account: use the name, id or fingerprint of one of %s", k, strings.Join(names, ", "))
		}
		out = append(out, godo.DropletCreateSSHKey{ID: key.ID})
	}
	return out, nil
}

// isFingerprint tells an MD5 fingerprint (16 hex pairs joined by colons)
// from a key's name.
func isFingerprint(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) != 16 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 16, 8); err != nil || len(p) != 2 {
			return false
		}
	}
	return true
}

func (c *Client) keysByName(ctx context.Context) (map[string]godo.Key, error) {
	out := map[string]godo.Key{}
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		ks, resp, err := c.api.Keys.List(ctx, opt)
		for _, k := range ks {
			out[k.Name] = k
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list ssh keys", err)
	}
	return out, nil
}

func (c *Client) Create(ctx context.Context, req inventory.CreateRequest) ([]inventory.Host, error) {
	if len(req.Names) == 0 {
		return nil, errors.New("create droplets: no name given")
	}
	keys, err := c.sshKeys(ctx, req.SSHKeys)
	if err != nil {
		return nil, err
	}
	mr := &godo.DropletMultiCreateRequest{
		Names: req.Names, Region: req.Region, Size: req.Size, Image: godo.DropletCreateImage{Slug: req.Image},
		SSHKeys: keys, Tags: req.Tags, UserData: req.UserData,
	}
	if id, err := strconv.Atoi(req.Image); err == nil {
		mr.Image = godo.DropletCreateImage{ID: id}
	}
	if mr.VPCUUID, err = c.vpcID(ctx, req.VPC, req.Region); err != nil {
		return nil, err
	}
	ds, _, err := c.api.Droplets.CreateMultiple(ctx, mr)
	if err != nil {
		return nil, apiError("create droplets "+strings.Join(req.Names, ", "), err)
	}
	out := make([]inventory.Host, len(ds))
	for i := range ds {
		out[i] = host(&ds[i])
	}
	return out, nil
}

func (c *Client) Destroy(ctx context.Context, id int) error {
	if _, err := c.api.Droplets.Delete(ctx, id); err != nil {
		return apiError("delete droplet "+strconv.Itoa(id), err)
	}
	return nil
}

func (c *Client) Act(ctx context.Context, id int, a inventory.ActionRequest, progress func(inventory.ActionStatus)) error {
	da := c.api.DropletActions
	var act *godo.Action
	var err error
	switch a.Kind {
	case inventory.PowerOn:
		act, _, err = da.PowerOn(ctx, id)
	case inventory.PowerOff:
		act, _, err = da.PowerOff(ctx, id)
	case inventory.PowerCycle:
		act, _, err = da.PowerCycle(ctx, id)
	case inventory.Reboot:
		act, _, err = da.Reboot(ctx, id)
	case inventory.Shutdown:
		act, _, err = da.Shutdown(ctx, id)
	case inventory.Resize:
		act, _, err = da.Resize(ctx, id, a.Size, true)
	case inventory.Snapshot:
		act, _, err = da.Snapshot(ctx, id, a.Name)
	default:
		return fmt.Errorf("droplet action %q is not supported", a.Kind)
	}
	op := fmt.Sprintf("%s droplet %d", a.Kind, id)
	if err != nil {
		return apiError(op, err)
	}
	return c.wait(ctx, op, act, progress)
}

// wait polls an action until it completed or errored.
func (c *Client) wait(ctx context.Context, op string, act *godo.Action, progress func(inventory.ActionStatus)) error {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		st := inventory.ActionStatus{ID: act.ID, Kind: act.Type, HostID: act.ResourceID, Status: act.Status}
		if act.StartedAt != nil {
			st.Started = act.StartedAt.Time
		}
		if progress != nil {
			progress(st)
		}
		switch act.Status {
		case godo.ActionCompleted:
			return nil
		case "errored":
			return fmt.Errorf("%s: the action errored on DigitalOcean's side; look at the droplet and try again", op)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: stopped waiting (the action may still complete): %w", op, ctx.Err())
		case <-t.C:
		}
		next, _, err := c.api.Actions.Get(ctx, act.ID)
		if err != nil {
			return apiError(op, err)
		}
		act = next
	}
}

func (c *Client) CreateVolume(ctx context.Context, req inventory.VolumeRequest) (inventory.Volume, error) {
	r := &godo.VolumeCreateRequest{Name: req.Name, Region: req.Region, SizeGigaBytes: int64(req.SizeGB), FilesystemType: "ext4"}
	if req.SnapshotID != "" { // the filesystem is the snapshot's
		r.SnapshotID, r.FilesystemType = req.SnapshotID, ""
	}
	v, _, err := c.api.Storage.CreateVolume(ctx, r)
	if err != nil {
		return inventory.Volume{}, apiError("create volume "+req.Name, err)
	}
	return volume(v), nil
}

func (c *Client) AttachVolume(ctx context.Context, volumeID string, hostID int, progress func(inventory.ActionStatus)) error {
	op := fmt.Sprintf("attach volume %s to droplet %d", volumeID, hostID)
	act, _, err := c.api.StorageActions.Attach(ctx, volumeID, hostID)
	if err != nil {
		return apiError(op, err)
	}
	return c.wait(ctx, op, act, progress)
}

func resources(ids []int) []godo.Resource {
	out := make([]godo.Resource, len(ids))
	for i, id := range ids {
		out[i] = godo.Resource{ID: strconv.Itoa(id), Type: godo.DropletResourceType}
	}
	return out
}

func (c *Client) Tag(ctx context.Context, tag string, ids []int) error {
	if _, _, err := c.api.Tags.Create(ctx, &godo.TagCreateRequest{Name: tag}); err != nil {
		return apiError("create tag "+tag, err)
	}
	if _, err := c.api.Tags.TagResources(ctx, tag, &godo.TagResourcesRequest{Resources: resources(ids)}); err != nil {
		return apiError("tag droplets with "+tag, err)
	}
	return nil
}

func (c *Client) Untag(ctx context.Context, tag string, ids []int) error {
	if _, err := c.api.Tags.UntagResources(ctx, tag, &godo.UntagResourcesRequest{Resources: resources(ids)}); err != nil {
		return apiError("untag "+tag+" from droplets", err)
	}
	return nil
}

// DestroyVolume deletes a volume that is attached to no droplet.
func (c *Client) DestroyVolume(ctx context.Context, id string) error {
	if _, err := c.api.Storage.DeleteVolume(ctx, id); err != nil {
		return apiError("delete volume "+id, err)
	}
	return nil
}

var _ inventory.Storage = (*Client)(nil)

func volumeSnapshot(s *godo.Snapshot) inventory.VolumeSnapshot {
	out := inventory.VolumeSnapshot{
		ID: s.ID, Name: s.Name, VolumeID: s.ResourceID, MinGB: s.MinDiskSize, SizeGB: s.SizeGigaBytes, Tags: s.Tags,
	}
	if len(s.Regions) > 0 {
		out.Region = s.Regions[0]
	}
	out.Created, _ = time.Parse(time.RFC3339, s.Created)
	return out
}

// VolumeSnapshots lists a volume's snapshots, every page.
func (c *Client) VolumeSnapshots(ctx context.Context, volumeID string) ([]inventory.VolumeSnapshot, error) {
	var out []inventory.VolumeSnapshot
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		ss, resp, err := c.api.Storage.ListSnapshots(ctx, volumeID, opt)
		for i := range ss {
			out = append(out, volumeSnapshot(&ss[i]))
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list the snapshots of volume "+volumeID, err)
	}
	return out, nil
}

func (c *Client) TakeVolumeSnapshot(ctx context.Context, volumeID, name string, tags []string) (inventory.VolumeSnapshot, error) {
	s, _, err := c.api.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: volumeID, Name: name, Tags: tags})
	if err != nil {
		return inventory.VolumeSnapshot{}, apiError("snapshot volume "+volumeID, err)
	}
	return volumeSnapshot(s), nil
}

func (c *Client) DeleteVolumeSnapshot(ctx context.Context, id string) error {
	if _, err := c.api.Storage.DeleteSnapshot(ctx, id); err != nil {
		return apiError("delete volume snapshot "+id, err)
	}
	return nil
}

func (c *Client) DetachVolume(ctx context.Context, volumeID string, hostID int, progress func(inventory.ActionStatus)) error {
	op := fmt.Sprintf("detach volume %s from droplet %d", volumeID, hostID)
	act, _, err := c.api.StorageActions.DetachByDropletID(ctx, volumeID, hostID)
	if err != nil {
		return apiError(op, err)
	}
	return c.wait(ctx, op, act, progress)
}
