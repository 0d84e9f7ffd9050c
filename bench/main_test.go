package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mcpoauth/caddy-mcp-oauth/bench/internal/benchkit"
)

// fakeMode records the steps the command drives.
type fakeMode struct {
	steps   []string
	failAt  string
	report  string
	missed  bool
	gotEnv  *benchkit.Env
	failErr error
}

func (f *fakeMode) step(name string) error {
	f.steps = append(f.steps, name)
	if name == f.failAt {
		return f.failErr
	}
	return nil
}

func (f *fakeMode) Setup(_ context.Context, env *benchkit.Env) error {
	f.gotEnv = env
	return f.step("setup")
}
func (f *fakeMode) Measure(context.Context) error { return f.step("measure") }
func (f *fakeMode) Report(context.Context) (string, error) {
	if err := f.step("report"); err != nil {
		return "", err
	}
	if f.missed {
		return f.report, benchkit.ErrMissed
	}
	return f.report, nil
}
func (f *fakeMode) Close() { f.steps = append(f.steps, "close") }

func TestRunDrivesSetupMeasureReport(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		mode      *fakeMode
		noWrite   bool
		wantSteps []string
		wantErr   error
		wantFile  bool
	}{
		{"all steps", &fakeMode{report: "# r\n"}, false, []string{"setup", "measure", "report", "close"}, nil, true},
		{"-no-write", &fakeMode{report: "# r\n"}, true, []string{"setup", "measure", "report", "close"}, nil, false},
		{"setup fails", &fakeMode{failAt: "setup", failErr: boom}, false, []string{"setup", "close"}, boom, false},
		{"measure fails", &fakeMode{failAt: "measure", failErr: boom}, false, []string{"setup", "measure", "close"}, boom, false},
		{"a missed target still writes", &fakeMode{report: "# r\n", missed: true}, false, []string{"setup", "measure", "report", "close"}, benchkit.ErrMissed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			o := &benchkit.Options{CaddyBin: "/nonexistent/caddy", OutDir: out, NoWrite: tc.noWrite}
			err := run(context.Background(), "fake", tc.mode, o)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("run = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(tc.mode.steps, tc.wantSteps) {
				t.Errorf("steps %v, want %v", tc.mode.steps, tc.wantSteps)
			}
			if tc.mode.gotEnv == nil || tc.mode.gotEnv.CaddyBin != o.CaddyBin || tc.mode.gotEnv.Root == "" {
				t.Errorf("env %+v", tc.mode.gotEnv)
			}
			b, err := os.ReadFile(filepath.Join(out, "fake.md"))
			if tc.wantFile != (err == nil) || (tc.wantFile && string(b) != tc.mode.report) {
				t.Errorf("results file: %q %v, want written: %v", b, err, tc.wantFile)
			}
		})
	}
}
