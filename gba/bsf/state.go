package bsf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// stateFile is the AuC's persistent state: SQN_HE per IMPI. Losing it would make the AuC reuse
// sequence numbers the USIM has already seen, forcing a resynchronisation, or (after a restore from
// an old copy) replaying them; so it is written before a vector leaves the AuC.
type stateFile struct {
	Version int               `json:"version"`
	SQN     map[string]string `json:"sqn"` // IMPI → SQN_HE, 12 hex digits
}

const stateVersion = 1

func loadState(path string) (map[string]uint64, error) {
	out := make(map[string]uint64)
	if path == "" {
		return out, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read AuC state: %w", err)
	}
	out, err = parseState(data)
	if err != nil {
		return nil, fmt.Errorf("AuC state %s: %w", path, err)
	}
	return out, nil
}

func parseState(data []byte) (map[string]uint64, error) {
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	}
	out := make(map[string]uint64, len(st.SQN))
	for impi, h := range st.SQN {
		if len(h) != 12 {
			return nil, fmt.Errorf("SQN of %s: %q is not 12 hex digits", impi, h)
		}
		v, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("SQN of %s: %w", impi, err)
		}
		out[impi] = v
	}
	return out, nil
}

// saveState writes the state atomically: a temporary file in the same directory, synced, renamed
// over the old one, then the directory synced, so a crash leaves either the old or the new state.
func saveState(path string, sqn map[string]uint64) error {
	st := stateFile{Version: stateVersion, SQN: make(map[string]string, len(sqn))}
	for impi, v := range sqn {
		st.SQN[impi] = fmt.Sprintf("%012x", v)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode AuC state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write AuC state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write AuC state: %w", err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write AuC state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync AuC state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close AuC state: %w", err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("replace AuC state: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return nil
}
