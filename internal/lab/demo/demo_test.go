package demo

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt"
)

// A demo run leaves nothing behind: lab servers, phones, media and HTTP connections all end
// when Run returns (the CLI test checks the report itself).
func TestRunLeavesNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	before := runtime.NumGoroutine()
	rep, err := Run(context.Background(), Options{Security: keymgmt.ModeKMS, Duration: time.Second})
	if err != nil || !rep.OK {
		t.Fatalf("run: %v %+v", err, rep)
	}
	var now int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("%d goroutines before, %d after:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}

// A cancelled context stops the run with the context's error and a report saying so.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := Run(ctx, Options{Duration: time.Second})
	if err == nil || rep == nil || rep.OK || len(rep.Failures) == 0 {
		t.Fatalf("cancelled run: %v %+v", err, rep)
	}
}
