package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// FetchProfile saves what url (a /debug/pprof/ endpoint) answers to path.
func FetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PprofTop runs go tool pprof -top with args on a profile of bin.
func PprofTop(ctx context.Context, bin, profile string, args ...string) ([]byte, error) {
	argv := append([]string{"tool", "pprof", "-top"}, args...)
	argv = append(argv, bin, profile)
	out, err := exec.CommandContext(ctx, "go", argv...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("go tool pprof: %v\n%s", err, out)
	}
	return out, nil
}
