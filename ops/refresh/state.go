package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
)

func (s *Service) path(target string) string {
	return filepath.Join(s.opt.Dir, "refresh-"+target+".json")
}

// Load returns the last refresh of target, finished or not; nil when there
// was none.
func (s *Service) Load(target string) (*State, error) {
	b, err := os.ReadFile(s.path(target))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the refresh state of %s: %w", target, err)
	}
	st := &State{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("the refresh state %s is damaged (%v): look at it, then move it away to start a new refresh", s.path(target), err)
	}
	return st, nil
}

// save replaces the state file atomically: a kill leaves the old or the new
// state, never half of one.
func (s *Service) save(st *State) error {
	if err := os.MkdirAll(s.opt.Dir, 0o700); err != nil {
		return fmt.Errorf("refresh state directory: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := s.path(st.Target)
	tmp, err := os.CreateTemp(s.opt.Dir, "."+filepath.Base(p)+".*")
	if err != nil {
		return fmt.Errorf("save the refresh state: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save the refresh state: %w", err)
	}
	return nil
}

// lock takes target's lock file, held until the returned function runs or
// the process ends (a killed vigil leaves no stale lock).
func (s *Service) lock(target string) (func(), error) {
	if err := os.MkdirAll(s.opt.Dir, 0o700); err != nil {
		return nil, err
	}
	p := filepath.Join(s.opt.Dir, "refresh-"+target+".lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(p)
		f.Close()
		return nil, access.Refuse(fmt.Errorf("a refresh of %s is running in another vigil (pid %s): wait for it to end", target, strings.TrimSpace(string(b))))
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}

// OldVolumes lists target's data volumes attached to no host: those a
// refresh detached and kept, to delete apart once the new data is trusted.
func (s *Service) OldVolumes(ctx context.Context, target string) ([]inventory.Volume, error) {
	e, err := s.env(target, "environment")
	if err != nil {
		return nil, err
	}
	vols, err := s.cloud.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	var out []inventory.Volume
	for _, v := range vols {
		if len(v.HostIDs) == 0 && IsDataVolume(e, v.Name) {
			out = append(out, v)
		}
	}
	return out, nil
}

// DeleteConfirmation asks for the volume's name typed.
func DeleteConfirmation(target, volume string) access.Confirmation {
	return access.Confirmation{
		Action: ActDeleteOldVolume, Target: "volume/" + volume, TypeName: volume,
		Title: fmt.Sprintf("Delete %s's old data volume %s for good (its snapshots stay)?", target, volume),
	}
}

// DeleteOldVolume deletes one of target's old data volumes, named in full
// (typed): it must be detached and one of target's data volumes, and no
// unfinished refresh may still count on it.
func (s *Service) DeleteOldVolume(ctx context.Context, actor access.Actor, target, name string) error {
	tgt := "volume/" + name
	params := map[string]string{"environment": target}
	if err := s.opt.Guard.Check(actor, ActDeleteOldVolume); err != nil {
		return errors.Join(err, s.journal.Record(ctx, actor, ActDeleteOldVolume.Name, tgt, params, err))
	}
	old, err := s.OldVolumes(ctx, target)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(old, func(v inventory.Volume) bool { return v.Name == name })
	if i < 0 {
		err := access.Refuse(fmt.Errorf("%s is not a detached data volume of %s: only those a refresh kept can be deleted here", name, target))
		return errors.Join(err, s.journal.Record(ctx, actor, ActDeleteOldVolume.Name, tgt, params, err))
	}
	if st, _ := s.Load(target); st != nil && !st.Done() && st.NewVolume.Name == name {
		err := access.Refuse(fmt.Errorf("%s is the new volume of the unfinished refresh %s: resume it instead", name, st.ID))
		return errors.Join(err, s.journal.Record(ctx, actor, ActDeleteOldVolume.Name, tgt, params, err))
	}
	params["id"] = old[i].ID
	err = s.storage.DestroyVolume(ctx, old[i].ID)
	return errors.Join(err, s.journal.Record(ctx, actor, ActDeleteOldVolume.Name, tgt, params, err))
}
